"""The chat's database threads as the sockets use them (``hub.db``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from tests.conftest import run_async
from uketome.chat import services
from uketome.chat.hub import database_thread, db, start
from uketome.chat.models import EndReason, Message, Sender


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


@pytest.mark.django_db(transaction=True)
def test_messages_waiting_together_are_stored_in_one_commit_each_with_its_own_answer(
    start_chat: Callable[..., tuple[int, str]],
) -> None:
    """A clump of messages that queued while the database thread was busy: stored in one
    transaction; a retried message and one to a chat that has ended get their own answers
    and take nothing back from the others; a call that is not a message keeps its turn."""
    first, second, ended = (start_chat()[0] for _ in range(3))
    services.message_post(
        conversation_id=second, sender=Sender.CHILD, client_id="sent-before", text="まえ"
    )
    services.conversation_end(conversation_id=ended, reason=EndReason.CHILD)
    release = threading.Event()
    shared: list[bool] = []

    def post(conversation_id: int, client_id: str, text: str) -> services.Posted:
        shared.append(transaction.get_connection().in_atomic_block)  # inside the group's
        return services.message_post(
            conversation_id=conversation_id, sender=Sender.CHILD, client_id=client_id, text=text
        )

    async def scenario() -> list[Any]:
        busy = database_thread.submit(lambda: release.wait(30))
        send = db(post, together=True)
        calls = [
            send(first, "a", "ひとつめ"),
            send(second, "sent-before", "まえ"),  # a retry: stored once, answered again
            send(ended, "c", "おわったあと"),
            send(first, "d", "ふたつめ"),
            db(lambda: Message.objects.filter(conversation_id=first).count())(),
            send(second, "e", "みっつめ"),
        ]
        tasks = [asyncio.ensure_future(call) for call in calls]
        await asyncio.sleep(0.05)  # all are queued behind the busy call
        release.set()
        await asyncio.wrap_future(busy)
        return await asyncio.gather(*tasks, return_exceptions=True)

    try:
        a, retried, refused, d, counted, e = run_async(scenario)
    finally:
        release.set()
    assert (a.created, a.message.seq, d.created, d.message.seq) == (True, 1, True, 2)
    assert (retried.created, retried.message.seq) == (False, 1)
    assert isinstance(refused, services.ChatError) and refused.code == "ended"
    assert counted == 2  # the call between ran after the four before it were committed
    assert (e.created, e.message.seq) == (True, 2)
    # The four before the count shared one transaction; the last one ran alone.
    assert shared == [True, True, True, True, False]
    stored = {
        (m.conversation_id, m.client_id): m.text
        for m in Message.objects.filter(conversation_id__in=[first, second, ended])
    }
    assert stored == {
        (first, "a"): "ひとつめ",
        (first, "d"): "ふたつめ",
        (second, "sent-before"): "まえ",
        (second, "e"): "みっつめ",
    }


def test_a_delivery_goes_out_at_once_and_one_that_must_wait_goes_out_in_its_turn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The fan-out starts each socket's delivery on the spot: usually done before the next
    socket's begins; one that has to wait (its socket busy with an earlier frame) is
    finished later by a task, in the order it was started; a failure is logged, and the
    deliveries after it still go out."""

    async def scenario() -> dict[str, Any]:
        busy = asyncio.Lock()
        sent: list[str] = []

        async def deliver(frame: str) -> str:
            async with busy:
                sent.append(frame)
            return frame

        async def broken() -> None:
            raise Refused("届かない")

        async def broken_later() -> None:
            async with busy:
                raise Refused("あとで届かない")

        start(deliver("1"))
        at_once = list(sent)
        await busy.acquire()  # the socket is busy: the next ones must wait
        start(deliver("2"))
        start(broken_later())
        start(broken())
        start(deliver("3"))
        while_busy = list(sent)
        busy.release()
        for _ in range(20):
            await asyncio.sleep(0)
        return {"at_once": at_once, "while_busy": while_busy, "in_the_end": sent}

    with caplog.at_level("ERROR", logger="uketome.chat.hub"):
        outcome = run_async(scenario)
    assert outcome == {"at_once": ["1"], "while_busy": ["1"], "in_the_end": ["1", "2", "3"]}
    failures = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert sorted(str(error) for error in failures) == ["あとで届かない", "届かない"]


REDIS_URL = "redis://127.0.0.1:6379/0"


def _pubsub_layer(settings: Any, url: str) -> None:
    """The channel layer of a server started with ``UKETOME_REDIS_URL`` (settings.py)."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url]},
        }
    }


class Ear:
    """A socket as the hub sees it: what it heard."""

    def __init__(self) -> None:
        self.heard = asyncio.Event()

    async def hub_event(self, group: str, event: dict[str, Any]) -> None:
        self.heard.set()


async def _from_another_process(group: str) -> None:
    from channels_redis.pubsub import RedisPubSubChannelLayer

    other = RedisPubSubChannelLayer(hosts=[REDIS_URL])
    event = {"kind": "typing", "conversation": 0, "side": "child", "on": True}
    message = {"type": "chat.event", "origin": "another-process", "group": group, "event": event}
    await other.group_send(group, message)
    await other.flush()


async def _stop(hub: Any) -> None:
    for task in hub.tasks:
        task.cancel()
    if hub.layer is not None:
        await hub.layer.flush()


@pytest.mark.redis
def test_sockets_that_join_while_the_hub_connects_to_redis_all_hear_the_other_processes(
    settings: Any,
) -> None:
    # After a restart every socket comes back at once, the first while the process is
    # still connecting to Redis.
    import uuid

    from tests.conftest import port_open
    from uketome.chat.hub import Hub

    if not port_open("127.0.0.1", 6379):
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    _pubsub_layer(settings, REDIS_URL)
    group = f"chat.c.test-{uuid.uuid4().hex}"

    async def scenario() -> None:
        hub = Hub()
        ears = [Ear() for _ in range(5)]
        try:
            await asyncio.gather(*(hub.join(group, ear) for ear in ears))
            await _from_another_process(group)
            await asyncio.wait_for(asyncio.gather(*(e.heard.wait() for e in ears)), 10)
        finally:
            await _stop(hub)

    run_async(scenario)


@pytest.mark.redis
def test_with_redis_unreachable_a_socket_is_refused_the_timers_run_and_a_later_one_connects(
    settings: Any,
) -> None:
    import uuid

    from tests.conftest import port_open
    from uketome.chat.hub import Hub

    if not port_open("127.0.0.1", 6379):
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    group = f"chat.c.test-{uuid.uuid4().hex}"

    async def scenario() -> dict[str, Any]:
        hub = Hub()
        try:
            _pubsub_layer(settings, "redis://127.0.0.1:1/0")  # nothing listens there
            try:
                await asyncio.wait_for(hub.join(group, Ear()), 30)
            except Exception as error:  # whatever the driver raises
                refused: Exception | None = error
            else:
                refused = None
            sweeps = [t for t in hub.tasks if "_sweep_forever" in repr(t.get_coro())]
            timers = bool(sweeps) and not any(t.done() for t in sweeps)
            left_in = dict(hub.members)
            _pubsub_layer(settings, REDIS_URL)  # Redis is back
            later = Ear()
            await hub.join(group, later)
            await _from_another_process(group)
            await asyncio.wait_for(later.heard.wait(), 10)
            return {"refused": refused, "timers": timers, "left_in": left_in}
        finally:
            await _stop(hub)

    r = run_async(scenario)
    assert r["refused"] is not None
    assert r["timers"]  # the sweep runs without Redis
    assert r["left_in"] == {}  # the refused socket is not counted as a member
