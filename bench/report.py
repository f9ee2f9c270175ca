"""The whole annual report over many contacts.

    python -m bench.report --rows 1000000     # SQLite, and PostgreSQL if it answers
    python -m bench.report --rows 20000       # a quick run

Loads ``--rows`` synthetic contacts (``uketome.helpline.demo_contacts``, loaded the way
``bench.contacts`` does: raw executemany on SQLite, COPY on PostgreSQL) into a fresh
database, all in one fiscal year (FY2025: the generator's "now" is set to 31 March 2026),
builds the statistics rollup from them (``uketome.stats.rollup.rebuild``, as
``uketome stats-rebuild`` does; in production the rollup is kept current contact by
contact), then times building the WHOLE annual report: every table of the year and the
previous year, suppression, the SVG charts and the printable page's HTML.

``build_ms`` is the median of 5 builds after one warm-up; ``build_ms_first`` the first
(cold) build; ``exact_ms`` the secretariat's exact-count report. Each database runs in its
own process; PostgreSQL (127.0.0.1:5432, user postgres) gets its own database
``uketome_bench_report``, dropped afterwards. Progress goes to stderr; stdout is ONE JSON
line: rows, build_ms_sqlite, build_ms_postgres and the details.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

from bench import contacts as base

PG_DB = "uketome_bench_report"
ROOT = Path(__file__).resolve().parent.parent
YEAR = 2025
RUNS = 5


def log(message: str) -> None:
    print(f"[bench.report] {message}", file=sys.stderr, flush=True)


def orchestrate(args: argparse.Namespace) -> dict[str, Any]:
    databases = ["sqlite"]
    if not args.sqlite_only and base.port_open(base.PG_HOST, base.PG_PORT):
        databases.append("postgres")
    merged: dict[str, Any] = {"rows": args.rows}
    for db in databases:
        command = [sys.executable, "-m", "bench.report", "--rows", str(args.rows), "--db", db]
        log(f"running {' '.join(command[2:])}")
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            merged[f"error_{db}"] = f"exit code {done.returncode}"
            continue
        result = json.loads(lines[-1])
        for key, value in result.items():
            if key != "rows":
                merged[f"{key}_{db}"] = value
    return merged


def worker(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="uketome-bench-report-"))
    base.PG_DB = PG_DB  # configure() builds the database URL from it
    base.configure(args.db, tmp)
    if args.db == "postgres":
        base.pg_admin(f"DROP DATABASE IF EXISTS {PG_DB}")
        base.pg_admin(f"CREATE DATABASE {PG_DB}")
    try:
        import django

        django.setup()
        return run(args)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if args.db == "postgres":
            base.pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        shutil.rmtree(tmp, ignore_errors=True)


def build_once(published: bool) -> tuple[float, Any]:
    from django.template.loader import render_to_string

    from uketome.stats import selectors
    from uketome.stats.charts import chart_for

    started = time.perf_counter()
    report = selectors.build_report(selectors.StatsFilters(year=YEAR), published=published)
    html = render_to_string(
        "stats/annual_report.html",
        {
            "report": report,
            "year": YEAR,
            "year_label": str(YEAR),
            "tables": [(t, chart_for(t)) for t in report.tables],
            "sections": selectors.report_sections(YEAR),
            "can_edit": False,
        },
    )
    elapsed = (time.perf_counter() - started) * 1000
    assert report.total > 0 and "<svg" in html
    return elapsed, report


def run(args: argparse.Namespace) -> dict[str, Any]:
    from datetime import datetime

    from django.core.management import call_command
    from django.db import connection
    from django.utils import translation

    from uketome.core.dates import TOKYO
    from uketome.stats import rollup
    from uketome.stats.models import MonthlyCount

    translation.activate("ja")
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    log(f"{connection.vendor}: migrated in {time.perf_counter() - started:.1f}s")
    base.build_network()
    end_of_year = datetime(YEAR + 1, 3, 31, 23, 0, tzinfo=TOKYO)
    load_started = time.perf_counter()
    with mock.patch("django.utils.timezone.now", return_value=end_of_year):
        base.load_rows(args.rows)
    load_s = time.perf_counter() - load_started
    base.analyze(argparse.Namespace(sqlite_analyze=False))
    log(f"loaded {args.rows:,} contacts in {load_s:.1f}s")
    rollup_started = time.perf_counter()
    written = rollup.rebuild()
    rollup_s = time.perf_counter() - rollup_started
    base.analyze(argparse.Namespace(sqlite_analyze=False))
    log(f"rollup: {written:,} rows in {rollup_s:.1f}s")

    first, report = build_once(published=True)
    log(f"first build {first:.0f} ms; {report.total:,} contacts in FY{YEAR}")
    times = [build_once(published=True)[0] for _ in range(RUNS)]
    exact = statistics.median(build_once(published=False)[0] for _ in range(3))
    build = statistics.median(times)
    log(f"build: median {build:.0f} ms, max {max(times):.0f} ms; exact {exact:.0f} ms")
    return {
        "rows": args.rows,
        "build_ms": round(build, 1),
        "build_ms_first": round(first, 1),
        "build_ms_max": round(max(times), 1),
        "exact_ms": round(exact, 1),
        "rollup_rows": MonthlyCount.objects.count(),
        "rollup_rebuild_s": round(rollup_s, 1),
        "load_s": round(load_s, 1),
        "tables": len(report.tables),
        "contacts_in_year": report.total,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], help="run one database (worker)")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    result = worker(args) if args.db else orchestrate(args)
    print(json.dumps(result, ensure_ascii=False, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
