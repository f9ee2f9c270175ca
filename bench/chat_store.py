"""Storing chat messages in clumps: `python -m bench.chat_store [--database-url URL]`.

Chat messages reach the server in clumps (a few within a millisecond or two, from chats
that have nothing to do with each other). The database thread stores them one behind the
other; with group commit (``hub.DatabaseThread``) the messages already waiting when it
turns to the first share ONE transaction, each in a savepoint of its own. This stores
``--clumps`` clumps of 1, 4 and 16 messages, each clump handed over at once from the event
loop, first one commit per message, then together, and prints ONE JSON line: the time from
handing a clump over until its last message is stored and answered (``last_ms_N_alone``,
``last_ms_N_together``; medians).

SQLite in a fresh data directory by default; ``--database-url`` (PostgreSQL) runs against
that database (use a scratch one: it is migrated, and a line of its own with 64 chats and
their messages is added; nothing else is touched).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

TEXT = "きょうは学校で友だちとけんかをしてしまって、どうしたらいいかわからなくて相談したいです。"
SIZES = (1, 4, 16)


async def clumps(conversations: list[int], count: int, size: int, together: bool) -> float:
    """The median time until the last message of a clump of ``size`` is stored."""
    from uketome.chat import services
    from uketome.chat.hub import db
    from uketome.chat.models import Sender

    post = db(services.message_post, together=together)
    ids = itertools.count()
    chats = itertools.cycle(conversations)
    times = []
    for _ in range(count):
        began = time.perf_counter()
        await asyncio.gather(
            *(
                post(
                    conversation_id=next(chats),
                    sender=Sender.CHILD,
                    client_id=f"{'t' if together else 'a'}{size}-{next(ids)}",
                    text=TEXT,
                )
                for _ in range(size)
            )
        )
        times.append((time.perf_counter() - began) * 1000)
        await asyncio.sleep(0.002)  # the next clump comes a little later
    return round(statistics.median(times), 3)


def prepare(chats: int) -> list[int]:
    from django.core.management import call_command

    from uketome.chat import services
    from uketome.helpline.models import Channel, IdentityPolicy, Line

    call_command("migrate", verbosity=0)
    suffix = secrets.token_hex(4)  # a line of this run's own
    line = Line.objects.create(
        name=f"bench-store-{suffix}",
        slug=f"bench-store-{suffix}",
        channels=[Channel.CHAT],
        always_open=True,
        identity_policy=IdentityPolicy.ANONYMOUS,
        sort_order=0,
    )
    return [services.conversation_start(line=line)[0].pk for _ in range(chats)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chat_store")
    parser.add_argument("--clumps", type=int, default=300)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as data_dir:
        from bench.chat_uketome import server_env

        # As the chat benchmark's server runs: not in debug mode (no query log).
        for name in [name for name in os.environ if name.startswith("UKETOME_")]:
            del os.environ[name]
        os.environ.update(server_env(Path(data_dir)))
        if args.database_url:
            os.environ["UKETOME_DATABASE_URL"] = args.database_url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uketome.settings")
        import django

        django.setup()
        from django.db import connection
        from django.db.backends.signals import connection_created

        from uketome.core.serving import no_autocheckpoint

        connection_created.connect(no_autocheckpoint)  # a server checkpoints in a thread

        conversations = prepare(64)
        report: dict[str, Any] = {"database": connection.vendor, "clumps": args.clumps}

        async def run() -> None:
            from uketome.chat.hub import database_thread

            await clumps(conversations, 50, 4, together=False)  # warm
            for size in SIZES:
                for together in (False, True):
                    key = f"last_ms_{size}_{'together' if together else 'alone'}"
                    report[key] = await clumps(conversations, args.clumps, size, together)
            await asyncio.wrap_future(database_thread.submit(lambda: None))

        asyncio.run(run())
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
