"""The chat's database threads as the sockets use them (``hub.db``)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from tests.conftest import run_async
from uketome.chat.hub import database_thread, db


class Refused(Exception):
    pass


def refuse(text: str) -> None:
    raise Refused(text)


def test_a_call_answers_its_caller_and_a_failure_reaches_it_too() -> None:
    async def scenario() -> dict[str, Any]:
        doubled = await db(lambda n: n * 2)(21)
        try:
            await db(refuse)("全角の理由")
        except Refused as error:
            refused = str(error)
        after = await db(lambda: "まだ動く")()  # the thread survives a failure
        return {"doubled": doubled, "refused": refused, "after": after}

    assert run_async(scenario) == {"doubled": 42, "refused": "全角の理由", "after": "まだ動く"}


def test_a_call_nobody_waits_for_any_more_is_not_run() -> None:
    """A socket that closed while its message waited for the database thread: the message
    is not written (the client sends it again when it comes back; it was never acknowledged),
    and the calls after it are."""
    release = threading.Event()
    ran: list[str] = []

    async def scenario() -> str:
        busy = database_thread.submit(lambda: release.wait(30))
        waiting = asyncio.create_task(db(ran.append)("closed"))
        await asyncio.sleep(0.05)
        waiting.cancel()
        await asyncio.sleep(0)
        release.set()
        await asyncio.wrap_future(busy)
        return await db(lambda: "next")()

    try:
        assert run_async(scenario) == "next"
    finally:
        release.set()
    assert ran == []
