"""The contact list and detail pages with many contacts, per role.

    python -m bench.contacts --rows 1000000     # SQLite, and PostgreSQL if it answers
    python -m bench.contacts --rows 20000       # a quick run

Loads ``--rows`` synthetic contacts (``uketome.helpline.demo_contacts``) into a fresh
database, signs in the real way (password, then a TOTP code) as a listener with many
contacts, a supervisor at that listener's site and the secretariat, and times through
Django's test client against the real views:

- list: the first page of ``/staff/contacts/``;
- deep_list: the page reached by following the "次へ" link (``?after=``) ~50 times;
- far_list: a page whose ``after`` cursor is a row 90% of the way down the rows the user
  may see (the keyset's worst case: a listener reading last year's records);
- detail: ``/staff/contacts/<id>/`` (decrypts the summary, writes an audit entry).

Each database runs in its own process (Django settings load once per process): the
top-level run spawns ``--db sqlite`` and, when PostgreSQL answers on 127.0.0.1:5432
(trust auth, user postgres), ``--db postgres`` against a fresh ``uketome_bench`` database
that is dropped afterwards. Progress and query plans go to stderr; stdout is ONE JSON line.
Top-level figures are the slowest role's; ``roles`` has each role's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

PASSWORD = "bench password that is long enough 42"  # noqa: S105 - a throwaway database
PG_HOST, PG_PORT, PG_USER, PG_DB = "127.0.0.1", 5432, "postgres", "uketome_bench"
ROOT = Path(__file__).resolve().parent.parent
SITES = 7
PER_SITE = {"listener": 40, "supporter": 5, "supervisor": 3}
BATCH = 20_000
DEEP_PAGES = 50
FAR_DEPTH = 0.9
BUDGET_S = 60.0  # at most this long per measurement (then fewer requests, at least 20)
METRICS = ("list", "deep_list", "far_list", "detail")


def log(message: str) -> None:
    print(f"[bench.contacts] {message}", file=sys.stderr, flush=True)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# --- The top-level run: one worker process per database -----------------------------------


def orchestrate(args: argparse.Namespace) -> dict[str, Any]:
    databases = ["sqlite"]
    if not args.sqlite_only and port_open(PG_HOST, PG_PORT):
        databases.append("postgres")
    merged: dict[str, Any] = {}
    for db in databases:
        command = [
            sys.executable,
            "-m",
            "bench.contacts",
            "--rows",
            str(args.rows),
            "--requests",
            str(args.requests),
            "--db",
            db,
        ]
        if args.sqlite_analyze:
            command.append("--sqlite-analyze")
        log(f"running {' '.join(command[2:])}")
        done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            log(f"--db {db} failed with exit code {done.returncode}")
            merged["error" if db == "sqlite" else f"error_{db}"] = f"exit code {done.returncode}"
            continue
        result = json.loads(lines[-1])
        if db == "sqlite":
            merged = {**result, **merged}
        else:
            merged.update({f"{k}_postgres": v for k, v in result.items() if k not in {"rows"}})
    return merged


# --- The worker: one database ----------------------------------------------------------------


def configure(db: str, tmp: Path) -> None:
    """Settings for this process, before Django is imported."""
    from cryptography.fernet import Fernet

    if db == "sqlite":
        url = f"sqlite:///{tmp}/bench.sqlite3"
    else:
        url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DB}"
    os.environ.update(
        {
            "UKETOME_DEBUG": "false",
            "UKETOME_SECRET_KEY": "bench-" + Fernet.generate_key().decode(),
            "UKETOME_FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "UKETOME_HTTPS": "false",
            "UKETOME_ALLOWED_HOSTS": "testserver",
            "UKETOME_DATA_DIR": str(tmp),
            "UKETOME_DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "uketome.settings",
        }
    )
    os.environ.pop("UKETOME_REDIS_URL", None)


def pg_admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(statement)


def worker(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="uketome-bench-"))
    configure(args.db, tmp)
    if args.db == "postgres":
        pg_admin(f"DROP DATABASE IF EXISTS {PG_DB}")
        pg_admin(f"CREATE DATABASE {PG_DB}")
    try:
        import django

        django.setup()
        return run(args)
    finally:
        with contextlib.suppress(Exception):  # Django may not have started
            from django.db import connections

            connections.close_all()
        if args.db == "postgres":
            pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    log(f"{connection.vendor}: migrated in {time.perf_counter() - started:.1f}s")
    build_network()
    load_started = time.perf_counter()
    load_rows(args.rows)
    load_s = time.perf_counter() - load_started
    analyze(args)
    log(f"loaded {args.rows:,} contacts in {load_s:.1f}s")
    import uketome.asgi  # noqa: F401 - the server's start-up (it settles the collector)

    people = bench_people()
    roles: dict[str, dict[str, Any]] = {}
    for role, user in people.items():
        roles[role] = measure(role, user, args.requests)
    result: dict[str, Any] = {
        "rows": args.rows,
        "db": "sqlite" if connection.vendor == "sqlite" else connection.vendor,
    }
    for metric in METRICS:
        for stat in ("p50", "p99"):
            key = f"{metric}_{stat}_ms"
            result[key] = max(r[key] for r in roles.values())
    result["load_s"] = round(load_s, 1)
    result["roles"] = roles
    return result


def build_network() -> None:
    """An operator, seven sites, 48 volunteers a site, network-wide staff, the demo lines."""
    from uketome.accounts.models import Membership, User
    from uketome.accounts.roles import Role
    from uketome.helpline.demo import load_lines
    from uketome.network.models import Organization, OrganizationKind, Site

    load_lines()
    operator = Organization.objects.create(
        name="ベンチ運営NPO", kind=OrganizationKind.NPO, is_operator=True
    )
    sites = [
        Site.objects.create(name=f"拠点{n}", slug=f"site-{n}", organization=operator, sort_order=n)
        for n in range(1, SITES + 1)
    ]
    plan: list[tuple[str, str, Site | None]] = []
    for site in sites:
        for role, count in PER_SITE.items():
            plan += [(f"{role}-{site.slug}-{i}", role, site) for i in range(1, count + 1)]
    plan += [(f"secretariat-{i}", Role.SECRETARIAT, None) for i in range(1, 3)]
    plan += [(f"fostercare-{i}", Role.FOSTER_CARE_STAFF, None) for i in range(1, 3)]
    users = []
    for username, _role, _site in plan:
        user = User(username=username, last_name="受付", first_name=username)
        user.set_unusable_password()
        users.append(user)
    created = User.objects.bulk_create(users)
    Membership.objects.bulk_create(
        Membership(user=user, organization=operator, site=site, role=role)
        for user, (_name, role, site) in zip(created, plan, strict=True)
    )
    log(f"network: {len(sites)} sites, {len(created)} staff")


def _chunks(rows: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_rows(count: int) -> None:
    """Contacts, topics, feelings and escalations by raw SQL: executemany on SQLite, COPY
    on PostgreSQL. Summaries are encrypted once per distinct text and the tokens shared,
    so loading does not spend its time in Fernet (reading still decrypts every one)."""
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.utils import timezone

    from uketome.core import crypto
    from uketome.helpline.demo_contacts import ContactGenerator, Staff
    from uketome.helpline.models import Contact, ContactTopic, Escalation, Line
    from uketome.helpline.taxonomy import current_version

    now = timezone.now()
    generator = ContactGenerator(
        version=current_version(),
        lines=list(Line.objects.filter(active=True).prefetch_related("hours", "annual_closures")),
        staff=Staff.from_db(),
        now=now,
        days=365,
        seed=2026,
    )
    version_id = generator.version.pk
    tokens: dict[str, list[str]] = {}

    def token(text: str | None, n: int) -> str | None:
        if text is None:
            return None
        pool = tokens.get(text)
        if pool is None:
            pool = tokens[text] = [crypto.encrypt(text) for _ in range(3)]
        return pool[n % 3]

    sqlite = connection.vendor == "sqlite"

    def dt(value: Any) -> Any:
        """SQLite stores UTC text; psycopg takes aware datetimes as they are."""
        return connection.ops.adapt_datetimefield_value(value) if sqlite else value

    now_db = dt(now)
    contact_cols = [
        "id", "created_at", "updated_at", "line_id", "channel", "site_id", "taxonomy_id",
        "listener_id", "supporter_id", "started_at", "ended_at", "duration_seconds",
        "outcome_id", "age_band_id", "gender_id", "grade_id", "repeat", "main_concern_id",
        "relationship_id", "setting_id", "risk_level_id", "risk_rank", "summary", "notes",
        "identified_with_consent", "identification", "narrative_removed_at", "recorded_by_id",
        "client_ref", "source_kind", "source_id",
    ]  # fmt: skip
    escalation_cols = [
        "created_at", "updated_at", "contact_id", "status", "raised_at", "action_id",
        "to_whom", "acted_at", "decided_by_id", "decided_at", "decision_note",
    ]  # fmt: skip
    feelings_table = Contact.feelings.through._meta.db_table
    tables = {
        "contact": (Contact._meta.db_table, contact_cols),
        "topic": (ContactTopic._meta.db_table, ["contact_id", "term_id"]),
        "feeling": (feelings_table, ["contact_id", "taxonomyterm_id"]),
        "escalation": (Escalation._meta.db_table, escalation_cols),
    }

    def write(cursor: Any, kind: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        table, cols = tables[kind]
        if sqlite:
            marks = ", ".join(["%s"] * len(cols))
            insert = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})"  # noqa: S608
            cursor.executemany(insert, rows)
        else:
            with cursor.cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    written = 0
    last_report = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for batch in _chunks(generator.rows(count), BATCH):
            contacts: list[tuple[Any, ...]] = []
            topics: list[tuple[int, int]] = []
            feelings: list[tuple[int, int]] = []
            escalations: list[tuple[Any, ...]] = []
            for row in batch:
                written += 1
                pk = written
                contacts.append(
                    (
                        pk, now_db, now_db, row.line_id, row.channel, row.site_id, version_id,
                        row.listener_id, row.supporter_id, dt(row.started_at),
                        dt(row.ended_at) if row.ended_at else None, row.duration_seconds,
                        row.outcome_id, row.age_band_id, row.gender_id, row.grade_id,
                        row.repeat, row.main_concern_id, row.relationship_id, row.setting_id,
                        row.risk_level_id, row.risk_rank, token(row.summary, pk),
                        token(row.notes, pk), False, None, None, row.listener_id, None, "",
                        None,
                    )
                )  # fmt: skip
                topics.extend((pk, t) for t in row.topic_ids)
                feelings.extend((pk, f) for f in row.feeling_ids)
                e = row.escalation
                if e is not None:
                    escalations.append(
                        (
                            now_db, now_db, pk, e.status, dt(e.raised_at), e.action_id,
                            e.to_whom, dt(e.acted_at) if e.acted_at else None,
                            e.decided_by_id, dt(e.decided_at) if e.decided_at else None, None,
                        )
                    )  # fmt: skip
            write(cursor, "contact", contacts)
            write(cursor, "topic", topics)
            write(cursor, "feeling", feelings)
            write(cursor, "escalation", escalations)
            if time.perf_counter() - last_report > 10:
                log(f"  {written:,} / {count:,}")
                last_report = time.perf_counter()
        for statement in connection.ops.sequence_reset_sql(no_style(), [Contact]):
            cursor.execute(statement)


def analyze(args: argparse.Namespace) -> None:
    """PostgreSQL: VACUUM ANALYZE, as autovacuum would soon after a bulk load. SQLite:
    nothing unless --sqlite-analyze (Django and uketome never run ANALYZE there)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        elif args.sqlite_analyze:
            cursor.execute("ANALYZE")


def bench_people() -> dict[str, Any]:
    """The listener with the most contacts, a supervisor at their site, the secretariat;
    each with a password and a confirmed TOTP device."""
    from django.db.models import Count
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from uketome.accounts.models import Membership, User
    from uketome.accounts.roles import Role
    from uketome.helpline.models import Contact

    top = (
        Contact.objects.filter(listener__isnull=False, site__isnull=False)
        .values("listener_id", "site_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    assert top is not None, "no contacts loaded"
    listener = User.objects.get(pk=top["listener_id"])
    supervisor = (
        Membership.objects.filter(role=Role.SUPERVISOR, site_id=top["site_id"])
        .order_by("user_id")
        .first()
    )
    assert supervisor is not None
    secretariat = Membership.objects.filter(role=Role.SECRETARIAT).order_by("user_id").first()
    assert secretariat is not None
    people = {"listener": listener, "supervisor": supervisor.user, "secretariat": secretariat.user}
    for user in people.values():
        user.set_password(PASSWORD)
        user.save()
        TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    log(f"listener {listener.username} took {top['n']:,} contacts")
    return people


def sign_in(user: Any) -> Any:
    """The login page, then the two-factor page with the current TOTP code."""
    from django.test import Client
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    response = client.post("/staff/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    response = client.post("/staff/two-factor/", {"token": code})
    assert response.status_code == 302, response.content[:300]
    response = client.get("/staff/contacts/")
    assert response.status_code == 200, response.status_code
    return client


NEXT_LINK = re.compile(r'<a href="([^"]*)" rel="next"')
DETAIL_LINK = re.compile(r'href="/staff/contacts/(\d+)/"')


def next_url(html: str) -> str | None:
    found = NEXT_LINK.search(html)
    return "/staff/contacts/" + found.group(1).replace("&amp;", "&") if found else None


def timed(client: Any, urls: list[str], requests: int) -> list[float]:
    """Milliseconds per request, cycling through ``urls`` (after 3 warm-up requests)."""
    for url in urls[:3]:
        client.get(url)
    times: list[float] = []
    began = time.perf_counter()
    for n in range(requests):
        url = urls[n % len(urls)]
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        if len(times) >= 20 and time.perf_counter() - began > BUDGET_S:
            log(f"  {url[:60]}: stopped after {len(times)} requests (over {BUDGET_S:.0f}s)")
            break
    return times


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p99 = ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]
    return round(statistics.median(ordered), 2), round(p99, 2)


def far_cursor(user: Any) -> tuple[Any, int]:
    """A page whose cursor is the row FAR_DEPTH of the way down what ``user`` may see."""
    from uketome.helpline.selectors import Cursor, contacts_visible_to

    visible = contacts_visible_to(user)
    total = visible.count()
    started_at, pk = visible.order_by("-started_at", "-id").values_list("started_at", "id")[
        max(0, int(total * FAR_DEPTH) - 1)
    ]
    return Cursor(started_at, pk), total


def explain(user: Any, after: Any) -> None:
    """The plan of the selector's query (stderr)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from uketome.helpline.selectors import ContactFilters, contact_page

    with CaptureQueriesContext(connection) as queries:
        contact_page(user, ContactFilters(), after=after)
    sql = next(q["sql"] for q in queries.captured_queries if "helpline_contact" in q["sql"])
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            plan = "\n".join(f"    {row[-1]}" for row in cursor.fetchall())
        else:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
    tail = sql[sql.index(' FROM "helpline_contact"') :]
    log(f"  SQL: SELECT ...{tail}\n  plan:\n{plan}")


def measure(role: str, user: Any, requests: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = sign_in(user)
    first = "/staff/contacts/"
    html = client.get(first).content.decode()
    ids = DETAIL_LINK.findall(html)

    # Follow "次へ" DEEP_PAGES times (or to the last page).
    url: str | None = first
    deep = first
    pages = 0
    while url and pages < DEEP_PAGES:
        deep = url
        page_html = client.get(url).content.decode()
        ids += DETAIL_LINK.findall(page_html)
        url = next_url(page_html)
        if url:
            pages += 1
    if url:
        deep = url
    cursor, visible = far_cursor(user)
    far = "/staff/contacts/?" + urlencode({"after": cursor.encode()})
    log(f"{role}: {visible:,} visible contacts; deep page = {pages} pages in")

    with CaptureQueriesContext(connection) as queries:
        client.get(first)
    list_queries = len(queries.captured_queries)
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/staff/contacts/{ids[0]}/")
    detail_queries = len(queries.captured_queries)

    out: dict[str, Any] = {"visible_rows": visible, "deep_pages": pages}
    plans = {"list": None, "far_list": cursor}
    for name, urls in (
        ("list", [first]),
        ("deep_list", [deep]),
        ("far_list", [far]),
        ("detail", [f"/staff/contacts/{pk}/" for pk in dict.fromkeys(ids)]),
    ):
        p50, p99 = summary(timed(client, urls, requests))
        out[f"{name}_p50_ms"] = p50
        out[f"{name}_p99_ms"] = p99
        log(f"  {role} {name}: p50 {p50} ms, p99 {p99} ms")
    out["list_queries"] = list_queries
    out["detail_queries"] = detail_queries
    for name, after in plans.items():
        log(f"{role} {name} query:")
        explain(user, after)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.contacts", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per page kind")
    parser.add_argument("--db", choices=["sqlite", "postgres"], help="run one database (worker)")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument(
        "--sqlite-analyze", action="store_true", help="run ANALYZE on SQLite after loading"
    )
    args = parser.parse_args(argv)
    result = worker(args) if args.db else orchestrate(args)
    print(json.dumps(result, ensure_ascii=False, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
