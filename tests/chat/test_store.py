"""Chat messages stored in a process of their own (chat/store.py), as a server process does:
a real store process on the test database, real sockets (channels.testing); the store
process killed, stopped and unable to start."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from tests.chat.conftest import child_socket, frames_for, next_of, of_type, staff_socket
from tests.conftest import run_async
from uketome.accounts.models import User
from uketome.chat import services, store
from uketome.chat.hub import hub
from uketome.chat.models import Conversation, Message, Status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store_process() -> Iterator[store.Store]:
    """This process stores its chat messages through a store process, as a server does."""
    chat_store = store.Store()
    chat_store.start()
    store.use(chat_store)
    yield chat_store
    store.use(None)
    chat_store.close()


async def _active_chat(conversation: int, token: str, listener: Client) -> tuple[Any, Any]:
    child, _ = await child_socket(conversation, token)
    staff, _ = await staff_socket(listener)
    await staff.send_json_to({"type": "take_next"})
    await next_of(staff, "assigned")
    await next_of(child, "status")
    return child, staff


def test_messages_go_through_the_store_process_stored_once_encrypted_and_in_order(
    store_process: store.Store,
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])
    store_pid = store_process.pid()

    async def scenario() -> dict[str, Any]:
        child, staff = await _active_chat(conversation, token, listener)
        await child.send_json_to({"type": "message", "id": "c-1", "text": "こんばんは"})
        ack = await next_of(child, "ack")
        at_listener = await next_of(staff, "message")
        await child.send_json_to({"type": "message", "id": "c-1", "text": "こんばんは"})
        again = await next_of(child, "ack")
        nothing_new = not of_type(await frames_for(staff, 0.3), "message")
        await staff.send_json_to(
            {"type": "send", "conversation": conversation, "id": "s-1", "text": "どうしたの?"}
        )
        staff_ack = await next_of(staff, "ack")
        at_child = await next_of(child, "message")
        await child.disconnect()
        await staff.disconnect()
        return locals()

    r = run_async(scenario)
    assert store_pid is not None and store_pid != os.getpid()
    assert store_process.pid() == store_pid  # the same process served them all
    assert (r["ack"]["seq"], r["at_listener"]["seq"], r["at_listener"]["text"]) == (
        1,
        1,
        "こんばんは",
    )
    assert r["again"]["seq"] == 1 and r["nothing_new"]  # a retried id is stored once
    assert r["staff_ack"]["seq"] == 2 and r["at_child"]["text"] == "どうしたの?"
    assert "author" not in r["at_child"]
    stored = list(
        Message.objects.filter(conversation_id=conversation).values_list("seq", "sender", "text")
    )
    assert stored == [(1, "child", "こんばんは"), (2, "listener", "どうしたの?")]
    assert (
        Message.objects.get(conversation_id=conversation, seq=2).author
        == (personas["listener_tsu"])
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM chat_message WHERE conversation_id = %s", [conversation])
        raw = [row[0] for row in cursor.fetchall()]
    assert raw and not any("こんばんは" in text or "どうしたの" in text for text in raw)


def test_a_store_process_that_dies_with_a_message_unanswered_is_replaced_and_nothing_lost(
    store_process: store.Store,
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])
    first_pid = store_process.pid()
    assert first_pid is not None

    async def scenario() -> dict[str, Any]:
        child, staff = await _active_chat(conversation, token, listener)
        await child.send_json_to({"type": "message", "id": "m1", "text": "ひとつめ"})
        await next_of(child, "ack")
        await next_of(staff, "message")
        os.kill(first_pid, signal.SIGSTOP)  # it will not read what comes next...
        await child.send_json_to({"type": "message", "id": "m2", "text": "ふたつめ"})
        waiting = not of_type(await frames_for(staff, 0.3), "message")
        os.kill(first_pid, signal.SIGKILL)  # ...and dies with it unanswered
        ack = await next_of(child, "ack", timeout=30)
        await child.send_json_to({"type": "message", "id": "m3", "text": "みっつめ"})
        await next_of(child, "ack")
        frames = await frames_for(staff, 1.0)
        await child.disconnect()
        await staff.disconnect()
        return {"waiting": waiting, "ack": ack, "frames": frames}

    r = run_async(scenario)
    assert r["waiting"]
    assert r["ack"]["id"] == "m2" and r["ack"]["seq"] == 2
    delivered = [(f["seq"], f["text"]) for f in of_type(r["frames"], "message")]
    assert delivered == [(2, "ふたつめ"), (3, "みっつめ")]  # each once, in order
    assert store_process.pid() not in (None, first_pid)  # a new store process
    assert list(
        Message.objects.filter(conversation_id=conversation).values_list("seq", flat=True)
    ) == [1, 2, 3]


def test_a_message_stored_just_before_the_store_process_died_still_reaches_the_listener(
    store_process: store.Store,
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    """The old process committed the message, then died before answering: the request is
    sent again, the store finds it stored, and the server publishes it after all."""
    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])
    payload = {
        "conversation_id": conversation,
        "sender": "child",
        "client_id": "late",
        "text": "きこえますか",
        "origin": "",
    }

    def committed_by_the_old_process() -> None:
        with transaction.atomic():
            services.message_post(**payload)
            transaction.get_connection().run_on_commit.clear()  # no publish: it died

    async def scenario() -> dict[str, Any]:
        from asgiref.sync import sync_to_async

        child, staff = await _active_chat(conversation, token, listener)
        await sync_to_async(committed_by_the_old_process)()
        request = store._Request(
            dict(payload), asyncio.get_running_loop().create_future(), resent=True
        )
        store_process.pending[99] = request
        # What the new store process answers to the request sent again:
        answer = await sync_to_async(store.store)([(99, dict(payload))])
        store_process.answered(([], answer))
        posted = await request.future
        at_listener = await next_of(staff, "message")
        await child.disconnect()
        await staff.disconnect()
        return {"posted": posted, "at_listener": at_listener}

    r = run_async(scenario)
    assert not r["posted"].created
    assert (r["at_listener"]["seq"], r["at_listener"]["text"]) == (1, "きこえますか")
    assert r["posted"].message.seq == 1 and r["posted"].message.client_id == "late"


def test_a_store_process_that_stops_answering_is_replaced(
    store_process: store.Store,
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(store, "ANSWER_SECONDS", 1.0)
    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])
    stuck_pid = store_process.pid()
    assert stuck_pid is not None

    async def scenario() -> dict[str, Any]:
        child, staff = await _active_chat(conversation, token, listener)
        os.kill(stuck_pid, signal.SIGSTOP)  # alive, but answers nothing
        await child.send_json_to({"type": "message", "id": "h1", "text": "たすけて"})
        at_listener = await next_of(staff, "message", timeout=30)
        ack = await next_of(child, "ack")
        await child.disconnect()
        await staff.disconnect()
        return {"at_listener": at_listener, "ack": ack}

    with caplog.at_level(logging.ERROR, logger="uketome.chat.store"):
        r = run_async(scenario)
    assert (r["at_listener"]["seq"], r["at_listener"]["text"]) == (1, "たすけて")
    assert r["ack"]["seq"] == 1
    assert store_process.pid() not in (None, stuck_pid)
    assert "has not answered" in caplog.text
    with pytest.raises(ProcessLookupError):  # the stuck one was killed, not left behind
        os.kill(stuck_pid, 0)


def test_without_a_store_process_messages_are_stored_here(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = store.Store(command=[sys.executable, "-c", "raise SystemExit(3)"])
    store.use(broken)
    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> list[dict[str, Any]]:
        child, staff = await _active_chat(conversation, token, listener)
        received = []
        for n in range(2):  # the first finds no store process; the second does not wait
            await child.send_json_to({"type": "message", "id": f"b{n}", "text": f"もし{n}"})
            await next_of(child, "ack", timeout=30)
            received.append(await next_of(staff, "message"))
        await child.disconnect()
        await staff.disconnect()
        return received

    try:
        with caplog.at_level(logging.ERROR, logger="uketome.chat.store"):
            received = run_async(scenario)
    finally:
        store.use(None)
    assert [(f["seq"], f["text"]) for f in received] == [(1, "もし0"), (2, "もし1")]
    assert "messages are stored here for now" in caplog.text
    assert broken.pid() is None
    assert Message.objects.filter(conversation_id=conversation).count() == 2


def test_a_group_is_stored_in_one_transaction_each_request_with_its_own_outcome(
    start_chat: Callable[..., tuple[int, str]],
) -> None:
    """What the store process does with the requests waiting together: the new message
    stored, a retried one found, one for an ended chat refused; the events of the commit
    kept for the server to publish."""
    active, _ = start_chat()
    ended, _ = start_chat()
    Conversation.objects.filter(pk=ended).update(status=Status.ENDED)

    def request(conversation: int, client_id: str, text: str) -> dict[str, Any]:
        return {
            "conversation_id": conversation,
            "sender": "child",
            "client_id": client_id,
            "text": text,
            "origin": "",
        }

    events: list[tuple[str, dict[str, Any]]] = []
    hub.capture(lambda group, event: events.append((group, event)))
    try:
        outcomes = store.store(
            [
                (1, request(active, "g1", "いち")),
                (2, request(ended, "g2", "に")),
                (3, request(active, "g1", "いち")),
                (4, request(active, "g3", "さん")),
            ]
        )
    finally:
        hub.capture(None)
    kinds = [(number, kind) for number, kind, _value in outcomes]
    assert kinds == [(1, "ok"), (2, "chat"), (3, "ok"), (4, "ok")]
    assert outcomes[1][2][0] == "ended"
    assert [value[0] for _n, kind, value in outcomes if kind == "ok"] == [True, False, True]
    assert [(event["seq"], event["text"]) for _group, event in events] == [
        (1, "いち"),
        (2, "さん"),
    ]
    assert list(Message.objects.filter(conversation_id=active).values_list("seq", "text")) == [
        (1, "いち"),
        (2, "さん"),
    ]
