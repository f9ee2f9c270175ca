"""The chat protocol over real sockets (channels.testing): start, queue, claims, messages,
resume. See docs/chat-protocol.md."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from tests.chat.conftest import (
    child_socket,
    frames_for,
    frames_until,
    next_of,
    of_type,
    staff_socket,
)
from tests.conftest import run_async
from uketome.accounts.models import User
from uketome.chat.models import Conversation, Message, Status

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_child_starts_without_personal_data_and_waits_with_a_position(
    start_chat: Callable[..., tuple[int, str]],
) -> None:
    first = start_chat()
    second = start_chat(age_band="junior_high", gender="girl", topics=["family", "school"])

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        _a, welcome_first = await child_socket(*first)
        _b, welcome_second = await child_socket(*second)
        await _a.disconnect()
        await _b.disconnect()
        return welcome_first, welcome_second

    welcome_first, welcome_second = run_async(scenario)
    assert welcome_first["status"] == "waiting" and welcome_first["position"] == 1
    assert welcome_second["position"] == 2
    assert welcome_second["estimate_minutes"] is None  # nobody answered yet: we cannot say
    stored = Conversation.objects.get(pk=second[0])
    assert (stored.age_band, stored.gender, stored.topics) == (
        "junior_high",
        "girl",
        ["family", "school"],
    )
    assert second[1] not in stored.token_hash  # only the hash is kept


def test_take_next_gives_risk_first_then_the_longest_wait_and_the_queue_moves(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    early = start_chat()
    later = start_chat()
    in_danger = start_chat()
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> dict[str, Any]:
        child_early, _w1 = await child_socket(*early)
        child_danger, _w3 = await child_socket(*in_danger)
        await child_danger.send_json_to({"type": "message", "id": "d1", "text": "もう死にたい"})
        await next_of(child_danger, "ack")
        # The child in danger goes ahead: the child who asked first is told, pushed.
        pushed_back = await next_of(child_early, "queue")
        staff, welcome = await staff_socket(listener)
        queue_order = [item["conversation"] for item in welcome["queue"]]
        await staff.send_json_to({"type": "take_next"})
        first = await next_of(staff, "assigned")
        # The child asked first is now first in line: the queue moves, pushed.
        moved = await next_of(child_early, "queue")
        await staff.send_json_to({"type": "take_next"})
        second = await next_of(staff, "assigned")
        status = await next_of(child_early, "status")
        for socket in (child_early, child_danger, staff):
            await socket.disconnect()
        return {
            "order": queue_order,
            "first": first["conversation"],
            "second": second["conversation"],
            "moved": moved,
            "pushed_back": pushed_back,
            "status": status,
        }

    result = run_async(scenario)
    assert result["order"] == [in_danger[0], early[0], later[0]]
    assert result["first"]["id"] == in_danger[0]
    assert result["first"]["risk"] in ("high", "urgent")
    assert result["pushed_back"]["position"] == 2
    assert result["moved"]["position"] == 1
    assert result["second"]["id"] == early[0]
    assert result["status"]["status"] == "active"
    assert Conversation.objects.get(pk=later[0]).status == Status.WAITING


def test_two_listeners_never_take_the_same_chat(
    start_chat: Callable[..., tuple[int, str]],
    make_staff: Callable[..., User],
    sign_in: Callable[..., Client],
) -> None:
    from uketome.accounts.roles import Role

    chats = [start_chat() for _ in range(3)]
    one = sign_in(make_staff(Role.LISTENER, "tsu"))
    two = sign_in(make_staff(Role.LISTENER, "suzuka"))

    async def scenario() -> list[dict[str, Any]]:
        a, _ = await staff_socket(one)
        b, _ = await staff_socket(two)
        # Both ask at the same moment, twice each: four requests for three chats.
        for _round in range(2):
            await asyncio.gather(
                a.send_json_to({"type": "take_next"}), b.send_json_to({"type": "take_next"})
            )
        answers = []
        for socket in (a, b):
            for _ in range(2):
                answers.append(
                    (await frames_until(socket, lambda f: f["type"] in ("assigned", "error")))[-1]
                )
        await a.disconnect()
        await b.disconnect()
        return answers

    answers = run_async(scenario)
    taken = [a["conversation"]["id"] for a in answers if a["type"] == "assigned"]
    assert sorted(taken) == sorted(c for c, _t in chats)  # each exactly once
    refused = [a for a in answers if a["type"] == "error"]
    assert [r["code"] for r in refused] == ["queue_empty"]
    assert Conversation.objects.filter(status=Status.ACTIVE).count() == 3


def test_messages_are_acknowledged_delivered_and_a_retried_id_is_stored_once(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> dict[str, Any]:
        child, _ = await child_socket(conversation, token)
        staff, _ = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        await next_of(staff, "assigned")
        await next_of(child, "status")
        await child.send_json_to({"type": "message", "id": "c-1", "text": "こんばんは"})
        ack = await next_of(child, "ack")
        at_listener = await next_of(staff, "message")
        # The ack was lost on the way, say: the page sends the same message again.
        await child.send_json_to({"type": "message", "id": "c-1", "text": "こんばんは"})
        again = await next_of(child, "ack")
        nothing_new = not of_type(await frames_for(staff, 0.3), "message")
        await staff.send_json_to(
            {
                "type": "send",
                "conversation": conversation,
                "id": "s-1",
                "text": "こんばんは。どうしたの?",
            }
        )
        staff_ack = await next_of(staff, "ack")
        at_child = await next_of(child, "message")
        html = "<b>太字</b><script>alert(1)</script>"
        await child.send_json_to({"type": "message", "id": "c-2", "text": html})
        await next_of(child, "ack")
        html_at_listener = await next_of(staff, "message")
        await child.disconnect()
        await staff.disconnect()
        return locals()

    r = run_async(scenario)
    assert r["ack"]["id"] == "c-1" and r["ack"]["seq"] == 1
    assert r["at_listener"]["text"] == "こんばんは" and r["at_listener"]["from"] == "child"
    assert r["again"]["seq"] == 1 and r["nothing_new"]
    assert r["staff_ack"]["seq"] == 2 and r["staff_ack"]["conversation"] == conversation
    assert r["at_child"] == {
        "type": "message",
        "seq": 2,
        "id": "s-1",
        "from": "listener",
        "text": "こんばんは。どうしたの?",
        "at": r["at_child"]["at"],
    }
    assert "author" not in r["at_child"]  # the child never gets a listener's name
    assert r["html_at_listener"]["text"] == "<b>太字</b><script>alert(1)</script>"  # as text
    assert Message.objects.filter(conversation_id=conversation).count() == 3
    stored = Message.objects.get(conversation_id=conversation, seq=1)
    assert stored.text == "こんばんは"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM chat_message WHERE id = %s", [stored.pk])
        raw = cursor.fetchone()[0]
    assert "こんばんは" not in raw  # encrypted at rest


def test_resume_after_reconnect_gives_every_message_once_in_order(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> dict[str, Any]:
        child, _ = await child_socket(conversation, token)
        staff, _ = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        await next_of(staff, "assigned")
        seen_by_child: list[int] = []
        for n in range(3):
            await staff.send_json_to(
                {"type": "send", "conversation": conversation, "id": f"s{n}", "text": f"返事{n}"}
            )
            await next_of(staff, "ack")
            seen_by_child.append((await next_of(child, "message"))["seq"])
        await child.disconnect()  # the network drops
        # While the child is away, the listener writes and whispers are added.
        for n in range(3, 6):
            await staff.send_json_to(
                {"type": "send", "conversation": conversation, "id": f"s{n}", "text": f"返事{n}"}
            )
            await next_of(staff, "ack")
        await staff.send_json_to(
            {"type": "note", "conversation": conversation, "id": "n1", "text": "メモ"}
        )
        await next_of(staff, "ack")
        back, welcome = await child_socket(conversation, token, last_seq=seen_by_child[-1])
        replay = [await back.receive_json_from(timeout=5) for _ in range(3)]
        quiet = not of_type(await frames_for(back, 0.3), "message")
        # The child sends what was typed offline, then one more; the listener reconnects too.
        await back.send_json_to({"type": "message", "id": "offline-1", "text": "ごめん、切れた"})
        await next_of(back, "ack")
        await staff.disconnect()
        staff_again, staff_welcome = await staff_socket(listener, {str(conversation): 6})
        staff_replay = await next_of(staff_again, "message")
        await back.disconnect()
        await staff_again.disconnect()
        return locals()

    r = run_async(scenario)
    assert r["seen_by_child"] == [1, 2, 3]
    # The welcome names the newest message the child may see (6): the replay is complete
    # when it is shown, and the note (7) is not the child's to wait for.
    assert r["welcome"]["status"] == "active" and r["welcome"]["last_seq"] == 6
    assert [f["seq"] for f in r["replay"]] == [4, 5, 6]
    assert [f["text"] for f in r["replay"]] == ["返事3", "返事4", "返事5"]
    assert r["quiet"]  # the note (seq 7) is never sent to the child
    assert [c["id"] for c in r["staff_welcome"]["conversations"]] == [conversation]
    assert r["staff_replay"]["seq"] == 7 and r["staff_replay"]["from"] == "note"


def test_a_child_message_while_still_waiting_reaches_the_listener_who_takes_the_chat(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> list[dict[str, Any]]:
        child, _ = await child_socket(conversation, token)
        await child.send_json_to({"type": "message", "id": "w1", "text": "だれかいますか"})
        await next_of(child, "ack")
        staff, _ = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        frames = await frames_until(staff, lambda f: f["type"] == "message")
        await child.disconnect()
        await staff.disconnect()
        return frames

    frames = run_async(scenario)
    assert frames[-1]["text"] == "だれかいますか"
    assert [f["type"] for f in frames].index("assigned") < len(frames) - 1


def test_child_and_listener_on_a_gap_get_the_missing_message_from_the_database(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    """An event lost on the way (the layer is at-most-once) is filled in before the next."""
    from uketome.chat import services

    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> list[dict[str, Any]]:
        child, _ = await child_socket(conversation, token)
        staff, _ = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        await next_of(staff, "assigned")
        # Stored without any publish (as if the event was lost).
        await sync_to_async(_store_silently)(conversation, personas["listener_tsu"])
        await staff.send_json_to(
            {"type": "send", "conversation": conversation, "id": "s2", "text": "二つ目"}
        )
        frames = [await next_of(child, "message"), await next_of(child, "message")]
        await child.disconnect()
        await staff.disconnect()
        return frames

    def _store_silently(conversation_id: int, author: User) -> None:
        from django.db import transaction

        with transaction.atomic():
            services.message_post(
                conversation_id=conversation_id,
                sender="listener",
                client_id="lost",
                text="一つ目",
                author=author,
            )
            transaction.get_connection().run_on_commit.clear()

    frames = run_async(scenario)
    assert [(f["seq"], f["text"]) for f in frames] == [(1, "一つ目"), (2, "二つ目")]


def test_the_child_can_end_at_any_time_and_the_listener_is_sent_to_the_record(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> dict[str, Any]:
        child, _ = await child_socket(conversation, token)
        staff, _ = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        await next_of(staff, "assigned")
        await child.send_json_to({"type": "end"})
        child_end = await next_of(child, "end")
        closed = await child.receive_output(timeout=2)
        staff_end = await next_of(staff, "end")
        # Coming back with the same token after the end: told it has ended, nothing more.
        again, welcome = await child_socket(conversation, token, last_seq=0)
        replayed_end = await next_of(again, "end")
        await staff.disconnect()
        return locals()

    r = run_async(scenario)
    assert r["child_end"]["reason"] == "child" and r["child_end"]["message"]
    assert r["closed"]["code"] == 4000
    assert r["staff_end"]["record_url"] == f"/staff/chat/{conversation}/record/"
    assert r["welcome"]["status"] == "ended" and r["replayed_end"]["reason"] == "child"


def test_the_end_never_overtakes_a_message_stored_before_it(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    # The child's last message is stored, but its event is late (another process's path)
    # or lost (the layer is at-most-once); the listener's end comes first.
    from uketome.chat import services
    from uketome.chat.hub import hub

    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])

    def stored_unannounced() -> None:
        hub.capture(lambda group, event: None)  # the event does not come
        try:
            services.message_post(
                conversation_id=conversation, sender="child", client_id="last", text="ありがとう"
            )
        finally:
            hub.capture(None)

    async def scenario() -> dict[str, Any]:
        child, _ = await child_socket(conversation, token)
        staff, _ = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        await next_of(staff, "assigned")
        await sync_to_async(stored_unannounced)()
        await staff.send_json_to({"type": "end", "conversation": conversation})
        at_staff = await frames_until(staff, lambda f: f["type"] == "end")
        at_child = await frames_until(child, lambda f: f["type"] == "end")
        await staff.disconnect()
        return locals()

    r = run_async(scenario)
    for frames in (r["at_staff"], r["at_child"]):
        shown = [f for f in frames if f["type"] in ("message", "end")]
        assert [f["type"] for f in shown] == ["message", "end"]
        assert shown[0]["text"] == "ありがとう"


def test_an_ack_never_overtakes_a_message_the_page_has_not_had(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    """The child's page resends a message the server had stored before the connection
    dropped; a listener's message stored between is still on its way (late, or lost on the
    layer). The page takes an answer's seq as seen: the listener's message must come first,
    or it would never be shown."""
    from uketome.chat import services
    from uketome.chat.hub import hub

    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])

    def stored_unannounced(staff_user: User) -> None:
        hub.capture(lambda group, event: None)  # their events do not come
        try:
            services.message_post(
                conversation_id=conversation,
                sender="listener",
                client_id="l1",
                text="だいじょうぶ?",
                author=staff_user,
            )
            services.message_post(
                conversation_id=conversation, sender="child", client_id="c1", text="うん"
            )
        finally:
            hub.capture(None)

    async def scenario() -> list[dict[str, Any]]:
        child, _ = await child_socket(conversation, token)
        staff, _ = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        await next_of(staff, "assigned")
        await next_of(child, "status")
        await sync_to_async(stored_unannounced)(personas["listener_tsu"])
        await child.send_json_to({"type": "message", "id": "c1", "text": "うん"})
        frames = await frames_until(child, lambda f: f.get("id") == "c1")
        await staff.disconnect()
        await child.disconnect()
        return frames

    shown = [f for f in run_async(scenario) if f["type"] in ("message", "ack")]
    # (the retried message is the child's own: answered as an ack, after what came before it)
    assert [(f["type"], f.get("id")) for f in shown] == [("message", "l1"), ("ack", "c1")]
    assert shown[0]["text"] == "だいじょうぶ?" and shown[0]["seq"] < shown[1]["seq"]


def test_ones_own_message_filled_in_ahead_of_its_answer_is_still_answered_as_ones_own(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With several processes, the child's next message (through Redis) can reach the
    console before the answer for the listener's own message (from the store): the gap it
    leaves is filled from the database, and the listener's message in it is still an
    ``ack`` to the console, not somebody's new message."""
    from uketome.chat import services, store
    from uketome.chat.hub import conversation_group, hub

    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])
    real_post = store.message_post

    async def answer_comes_late(**fields: Any) -> Any:
        if fields.get("client_id") != "l1":
            return await real_post(**fields)
        events: list[tuple[str, dict[str, Any]]] = []
        hub.capture(lambda group, event: events.append((group, event)))
        try:
            posted = await real_post(**fields)
            await sync_to_async(services.message_post)(
                conversation_id=conversation, sender="child", client_id="c1", text="あのね"
            )
        finally:
            hub.capture(None)
        hub.publish(conversation_group(conversation), events[-1][1])  # the child's, first
        return posted

    monkeypatch.setattr(store, "message_post", answer_comes_late)

    async def scenario() -> list[dict[str, Any]]:
        child, _ = await child_socket(conversation, token)
        staff, _ = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        await next_of(staff, "assigned")
        await staff.send_json_to(
            {"type": "send", "conversation": conversation, "id": "l1", "text": "どうしたの"}
        )
        frames = await frames_until(staff, lambda f: f.get("id") == "c1")
        await staff.disconnect()
        await child.disconnect()
        return frames

    shown = [(f["type"], f.get("id")) for f in run_async(scenario) if f.get("id")]
    assert shown == [("ack", "l1"), ("message", "c1")]


def test_a_waiting_child_who_stays_away_leaves_the_queue(
    start_chat: Callable[..., tuple[int, str]],
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from uketome.chat import services

    gone, gone_token = start_chat()
    staying, staying_token = start_chat()

    async def scenario() -> Any:
        away, _ = await child_socket(gone, gone_token)
        here, _ = await child_socket(staying, staying_token)
        await away.disconnect()
        result = await sync_to_async(services.sweep)(now=timezone.now() + timedelta(seconds=121))
        await here.disconnect()
        return result

    result = run_async(scenario)
    assert result.ended == {gone: "left"}
    assert Conversation.objects.get(pk=staying).status == Status.WAITING


def test_a_waiting_child_whose_phone_changed_networks_stays_in_the_queue(
    start_chat: Callable[..., tuple[int, str]],
) -> None:
    # The page opens a new socket at once; the server notices the old one is dead later.
    from datetime import timedelta

    from django.utils import timezone

    from uketome.chat import services

    conversation, token = start_chat()

    async def scenario() -> dict[str, Any]:
        old, _ = await child_socket(conversation, token)
        new, _ = await child_socket(conversation, token)
        await old.disconnect()
        while_here = await sync_to_async(services.sweep)(
            now=timezone.now() + timedelta(seconds=121)
        )
        await new.disconnect()
        after_leaving = await sync_to_async(services.sweep)(
            now=timezone.now() + timedelta(seconds=121)
        )
        return locals()

    r = run_async(scenario)
    assert r["while_here"].ended == {}
    # When the newest socket goes too, the child is away as before.
    assert r["after_leaving"].ended == {conversation: "left"}


def test_a_socket_that_says_no_hello_in_time_is_closed_without_an_error_to_try_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a slow network the page's hello can be late: the server closes the socket with
    no error frame (an error would read, on the page, as the end of the chat)."""
    from channels.testing import WebsocketCommunicator

    from tests.chat.conftest import ORIGIN
    from uketome.asgi import application
    from uketome.chat import consumers

    monkeypatch.setattr(consumers, "HELLO_TIMEOUT", 0.2)

    async def scenario() -> tuple[bool, dict[str, Any]]:
        socket = WebsocketCommunicator(application, "/ws/chat/", headers=ORIGIN)
        connected, _ = await socket.connect()
        return bool(connected), await socket.receive_output(timeout=3)

    connected, first = run_async(scenario)
    assert connected
    assert first == {"type": "websocket.close", "code": 4408}


def test_a_hello_that_arrived_in_time_is_answered_however_slow_the_server(
    start_chat: Callable[..., tuple[int, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a restart the server may take longer than the hello time limit to look a
    returning child's chat up: the child is still let back in (not turned away)."""
    import time

    from uketome.chat import consumers, selectors

    conversation = start_chat()
    monkeypatch.setattr(consumers, "HELLO_TIMEOUT", 0.2)
    slow_lookup = selectors.conversation_for_child

    def busy_server(*args: Any) -> Any:
        time.sleep(0.6)
        return slow_lookup(*args)

    monkeypatch.setattr(selectors, "conversation_for_child", busy_server)

    async def scenario() -> dict[str, Any]:
        socket, welcome = await child_socket(*conversation)
        await socket.disconnect()
        return welcome

    assert run_async(scenario)["status"] == "waiting"


def test_a_waiting_child_is_told_a_new_guess_at_the_wait_when_the_pace_changes(
    start_chat: Callable[..., tuple[int, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nobody was answered lately, so the child is told "we cannot say". Then the line
    # answers someone (on another process, say): the child, still first in line, hears
    # the new guess without anyone else joining or leaving the queue.
    from datetime import timedelta

    from django.utils import timezone

    from uketome.chat import hub as hub_module

    monkeypatch.setattr(hub_module, "WAIT_RENEW_SECONDS", 0.3)
    waiting = start_chat()
    line_id = Conversation.objects.get(pk=waiting[0]).line_id

    def someone_answered() -> None:
        at = timezone.now() - timedelta(minutes=5)
        answered = Conversation.objects.create(
            line_id=line_id, token_hash="0" * 64, status=Status.ENDED, started_at=at
        )
        Conversation.objects.filter(pk=answered.pk).update(claimed_at=at)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        child, welcome = await child_socket(*waiting)
        await sync_to_async(someone_answered)()
        told = await next_of(child, "queue")
        await child.disconnect()
        return welcome, told

    welcome, told = run_async(scenario)
    assert (welcome["position"], welcome["estimate_minutes"]) == (1, None)
    assert told["position"] == 1
    assert isinstance(told["estimate_minutes"], int) and told["estimate_minutes"] >= 1
