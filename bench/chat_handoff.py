"""The chat's hand-over to its database thread: `python -m bench.chat_handoff [--calls N]`.

Every chat message goes from the event loop to a database thread and back (``hub.db``)
twice: to be stored, and to be scored. The loop's share of that is CPU taken from every
other socket of the process. This runs ``--calls`` round trips of a call that does nothing
(no database), first one caller at a time, then 8 at once, and prints ONE JSON line: the
event loop thread's CPU per round trip and the wall time per round trip, in microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from typing import Any


def nothing(value: int) -> int:
    return value


async def round_trips(calls: int, callers: int) -> dict[str, float]:
    from uketome.chat.hub import db

    for _ in range(200):  # the thread started, the code paths warm
        await db(nothing)(1)
    each = calls // callers

    async def caller() -> None:
        for _ in range(each):
            await db(nothing)(1)

    cpu, wall = time.thread_time(), time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    done = each * callers
    return {
        "loop_cpu_us": round(cpu / done * 1e6, 1),
        "wall_us": round(wall / each * 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chat_handoff")
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as data_dir:
        os.environ.update({"UKETOME_DEBUG": "true", "UKETOME_DATA_DIR": data_dir})
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uketome.settings")
        import django

        django.setup()
        report: dict[str, Any] = {"calls": args.calls}
        for callers in (1, 8):
            figures = asyncio.run(round_trips(args.calls, callers))
            report.update({f"{key}_{callers}": value for key, value in figures.items()})
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
