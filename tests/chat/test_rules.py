"""Timers (inactivity, closing time) and bad input: each gets a clear error and the
conversation survives."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from tests.chat.conftest import (
    ORIGIN,
    child_socket,
    frames_for,
    frames_until,
    next_of,
    of_type,
    staff_socket,
)
from tests.conftest import run_async
from uketome.accounts.models import User
from uketome.accounts.roles import Role
from uketome.asgi import application
from uketome.chat import services
from uketome.chat.consumers import ChildChatConsumer
from uketome.chat.models import ChatSettings, Conversation, Status
from uketome.helpline.models import Closure, Line

pytestmark = pytest.mark.django_db(transaction=True)


async def _talking(
    start_chat: Callable[..., tuple[int, str]],
    listener: Client,
    while_waiting: Callable[[int, WebsocketCommunicator], Awaitable[None]] | None = None,
) -> tuple[int, WebsocketCommunicator, WebsocketCommunicator]:
    """A child and the listener who took the chat (after ``while_waiting``, if given)."""
    conversation, token = await sync_to_async(start_chat)()
    child, _ = await child_socket(conversation, token)
    if while_waiting is not None:
        await while_waiting(conversation, child)
    staff, _ = await staff_socket(listener)
    await staff.send_json_to({"type": "take_next"})
    await next_of(staff, "assigned")
    await next_of(child, "status")
    return conversation, child, staff


def _sweep_at(**delta: float) -> services.SweepResult:
    return services.sweep(now=timezone.now() + timedelta(**delta))


async def _sweeps(
    child: WebsocketCommunicator, staff: WebsocketCommunicator, *, first: float
) -> dict[str, Any]:
    """The sweep ``first`` seconds from now, 241 s and 301 s from now, and what the child
    got from each (then the listener leaves)."""
    early = await sync_to_async(_sweep_at)(seconds=first)
    quiet = await frames_for(child, 0.3)
    warned = await sync_to_async(_sweep_at)(seconds=241)
    warning = await next_of(child, "warning")
    ended = await sync_to_async(_sweep_at)(seconds=301)
    end = await next_of(child, "end")
    await staff.disconnect()
    return locals()


def _quiet_then_warned_then_ended(conversation: int, r: dict[str, Any]) -> None:
    """Nothing at the first sweep; the inactivity warning at the second; the end at the third."""
    assert not r["early"].warned and not r["early"].ended
    assert not of_type(r["quiet"], "warning", "end")
    assert r["warned"].warned == [conversation] and r["warning"]["code"] == "inactive"
    assert r["ended"].ended == {conversation: "inactive"} and r["end"]["reason"] == "inactive"


def test_a_quiet_child_is_warned_at_4_minutes_and_the_chat_ends_at_5(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> dict[str, Any]:
        conversation, child, staff = await _talking(start_chat, listener)
        await child.send_json_to({"type": "message", "id": "c1", "text": "えっと"})
        await next_of(child, "ack")
        early = await sync_to_async(_sweep_at)(seconds=200)
        warned = await sync_to_async(_sweep_at)(seconds=241)
        warning = await next_of(child, "warning")
        staff_warning = await next_of(staff, "warning")
        ended = await sync_to_async(_sweep_at)(seconds=301)
        end = await next_of(child, "end")
        closed = await child.receive_output(timeout=2)
        staff_end = await next_of(staff, "end")
        await staff.disconnect()
        return locals()

    r = run_async(scenario)
    assert not r["early"].warned and not r["early"].ended
    assert r["warned"].warned == [r["conversation"]]
    assert r["warning"]["code"] == "inactive" and r["warning"]["message"]
    assert r["staff_warning"]["conversation"] == r["conversation"]
    assert r["ended"].ended == {r["conversation"]: "inactive"}
    assert r["end"]["reason"] == "inactive" and r["end"]["message"]
    assert r["closed"] == {"type": "websocket.close", "code": 4000}
    assert r["staff_end"]["record_url"] == f"/staff/chat/{r['conversation']}/record/"
    assert Conversation.objects.get(pk=r["conversation"]).end_reason == "inactive"


def test_the_inactivity_times_are_per_line_and_a_message_resets_the_clock(
    start_chat: Callable[..., tuple[int, str]],
    chat_line: Line,
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    ChatSettings.objects.update_or_create(
        line=chat_line, defaults={"warn_after_seconds": 60, "end_after_seconds": 90}
    )
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> dict[str, Any]:
        conversation, child, staff = await _talking(start_chat, listener)
        await sync_to_async(_sweep_at)(seconds=61)
        warning = await next_of(child, "warning")
        await child.send_json_to({"type": "message", "id": "c1", "text": "まだいるよ"})
        await next_of(child, "ack")
        after_message = await sync_to_async(_sweep_at)(seconds=85)
        await child.disconnect()
        await staff.disconnect()
        return locals()

    r = run_async(scenario)
    assert r["warning"]["code"] == "inactive"
    assert r["conversation"] not in r["after_message"].ended
    assert Conversation.objects.get(pk=r["conversation"]).status == Status.ACTIVE


def test_what_a_child_wrote_while_waiting_does_not_count_as_quiet_time_once_taken(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    # A busy evening: the child writes at once, then waits six minutes for a listener.
    listener = sign_in(personas["listener_tsu"])

    async def writes_and_waits(conversation: int, child: WebsocketCommunicator) -> None:
        await child.send_json_to({"type": "message", "id": "c1", "text": "家に帰れない"})
        await next_of(child, "ack")
        await sync_to_async(Conversation.objects.filter(pk=conversation).update)(
            last_child_message_at=timezone.now() - timedelta(minutes=6)
        )

    async def scenario() -> tuple[int, dict[str, Any]]:
        conversation, child, staff = await _talking(start_chat, listener, writes_and_waits)
        return conversation, await _sweeps(child, staff, first=5)

    # Right after the listener took it: no warning, no end (the clock starts at the take);
    # from then on the child's silence counts as usual.
    _quiet_then_warned_then_ended(*run_async(scenario))


def test_a_child_waiting_for_the_listeners_answer_is_not_quiet(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> tuple[int, dict[str, Any]]:
        conversation, child, staff = await _talking(start_chat, listener)
        await child.send_json_to({"type": "message", "id": "c1", "text": "ねえ、きいて"})
        await next_of(child, "ack")
        # The listener takes three and a half minutes to answer.
        back = timezone.now() - timedelta(seconds=210)
        await sync_to_async(Conversation.objects.filter(pk=conversation).update)(
            last_child_message_at=back, claimed_at=back - timedelta(seconds=10)
        )
        await staff.send_json_to(
            {"type": "send", "conversation": conversation, "id": "l1", "text": "きいてるよ"}
        )
        await next_of(child, "message")
        # A minute later (four and a half since the child wrote), the child is reading.
        return conversation, await _sweeps(child, staff, first=60)

    # Counted from the listener's answer: four minutes of silence after it, then five.
    _quiet_then_warned_then_ended(*run_async(scenario))


def test_the_inactivity_warning_tells_the_child_how_long_is_left() -> None:
    """A line may allow longer than a minute between the warning and the end, and a child
    who comes back late is told the time that remains, not the first figure."""
    from django.utils import translation

    from uketome.chat.consumers import warning_message

    with translation.override("ja"):
        assert "2分" in warning_message("inactive", timezone.now() + timedelta(seconds=115))
        assert "1分" in warning_message("inactive", timezone.now() + timedelta(seconds=40))


def test_chats_get_a_warning_before_closing_time_and_end_at_closing_time(
    start_chat: Callable[..., tuple[int, str]],
    chat_line: Line,
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    listener = sign_in(personas["listener_tsu"])
    now = timezone.now()
    Closure.objects.create(
        line=chat_line,
        starts_at=now + timedelta(minutes=3),
        ends_at=now + timedelta(days=1),
        reason="staff_shortage",
    )

    async def scenario() -> dict[str, Any]:
        conversation, child, staff = await _talking(start_chat, listener)
        waiting, waiting_token = await sync_to_async(start_chat)()
        waiting_child, _ = await child_socket(waiting, waiting_token)
        await sync_to_async(services.sweep)(now=now + timedelta(seconds=30))
        warning = await next_of(child, "warning")
        await sync_to_async(services.sweep)(now=now + timedelta(minutes=3, seconds=1))
        end = await next_of(child, "end")
        waiting_end = await next_of(waiting_child, "end")
        await staff.disconnect()
        return locals()

    r = run_async(scenario)
    assert r["warning"]["code"] == "closing"
    assert r["end"]["reason"] == "closing" and r["waiting_end"]["reason"] == "closing"
    assert set(Conversation.objects.filter(end_reason="closing").values_list("pk", flat=True)) == {
        r["conversation"],
        r["waiting"],
    }


def test_a_child_who_was_offline_at_the_closing_warning_gets_it_on_coming_back(
    start_chat: Callable[..., tuple[int, str]],
    chat_line: Line,
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    listener = sign_in(personas["listener_tsu"])
    now = timezone.now()
    closes = now + timedelta(minutes=3)
    Closure.objects.create(
        line=chat_line, starts_at=closes, ends_at=now + timedelta(days=1), reason="staff_shortage"
    )

    async def scenario() -> dict[str, Any]:
        conversation, token = await sync_to_async(start_chat)()
        child, _ = await child_socket(conversation, token)
        staff, _ = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        await next_of(staff, "assigned")
        await child.disconnect()  # offline when the warning goes out
        await sync_to_async(services.sweep)(now=now + timedelta(seconds=30))
        await next_of(staff, "warning")
        back, welcome = await child_socket(conversation, token, last_seq=0)
        frames = await frames_for(back, 0.5)
        await back.disconnect()
        await staff.disconnect()
        return locals()

    r = run_async(scenario)
    warnings = of_type(r["frames"], "warning")
    assert [w["code"] for w in warnings] == ["closing"]
    assert warnings[0]["message"]
    assert abs(datetime.fromisoformat(warnings[0]["ends_at"]) - closes) < timedelta(minutes=1)


def test_outside_the_hours_a_chat_cannot_start_and_the_answer_says_when_it_opens(
    chat_line: Line,
) -> None:
    now = timezone.now()
    Closure.objects.create(
        line=chat_line,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
        reason="holiday",
    )
    response = Client().post("/chat/start/", {}, HTTP_ORIGIN="http://testserver")
    assert response.status_code == 409
    data = response.json()
    assert data["error"] == "closed" and data["next_opening"]
    assert not Conversation.objects.exists()


def test_bad_frames_get_a_clear_error_and_the_chat_goes_on(
    start_chat: Callable[..., tuple[int, str]],
    chat_line: Line,
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    ChatSettings.objects.update_or_create(
        line=chat_line, defaults={"flood_messages": 5, "flood_seconds": 1}
    )
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> dict[str, Any]:
        conversation, child, staff = await _talking(start_chat, listener)
        errors = {}
        await child.send_to(text_data="これはJSONではない")
        errors["not_json"] = await next_of(child, "error")
        await child.send_json_to({"type": "dance"})
        errors["unknown"] = await next_of(child, "error")
        await child.send_json_to({"type": "message", "id": "long", "text": "あ" * 2001})
        errors["long"] = await next_of(child, "error")
        await child.send_json_to({"type": "message", "id": "ctl", "text": "ベル\x07です"})
        errors["control"] = await next_of(child, "error")
        await child.send_json_to({"type": "message", "id": "rtl", "text": "abc\u202edef"})
        errors["bidi"] = await next_of(child, "error")
        await child.send_json_to({"type": "message", "id": "blank", "text": "  \n "})
        errors["blank"] = await next_of(child, "error")
        await child.send_json_to({"type": "message", "id": "../etc", "text": "id"})
        errors["bad_id"] = await next_of(child, "error")
        await child.send_to(text_data='{"type": "message", "text": "' + "x" * 17000 + '"}')
        errors["huge"] = await next_of(child, "error")
        await asyncio.sleep(1.1)  # refused messages count against the flood limit too
        exactly = "い" * 2000
        await child.send_json_to({"type": "message", "id": "max", "text": exactly})
        at_max = (await frames_until(child, lambda f: f["type"] in ("ack", "error")))[-1]
        for n in range(4):
            await child.send_json_to({"type": "message", "id": f"f{n}", "text": f"連打{n}"})
        acks = [await next_of(child, "ack") for _ in range(4)]
        await child.send_json_to({"type": "message", "id": "f-late", "text": "もう一回"})
        errors["flood"] = await next_of(child, "error")
        await asyncio.sleep(1.1)
        await child.send_json_to({"type": "message", "id": "f-late", "text": "もう一回"})
        survived = (await frames_until(child, lambda f: f["type"] in ("ack", "error")))[-1]
        received = of_type(await frames_for(staff, 0.5), "message")
        await child.disconnect()
        await staff.disconnect()
        return locals()

    r = run_async(scenario)
    e = r["errors"]
    assert e["not_json"]["code"] == "bad_json" and e["not_json"]["message"]
    assert e["unknown"]["code"] == "unknown_type"
    assert e["long"]["code"] == "too_long" and e["long"]["id"] == "long"
    assert e["control"]["code"] == "bad_text" and e["bidi"]["code"] == "bad_text"
    assert e["blank"]["code"] == "empty"
    assert e["bad_id"]["code"] == "bad_id"
    assert e["huge"]["code"] == "too_big"
    assert e["flood"]["code"] == "too_fast" and e["flood"]["id"] == "f-late"
    assert r["at_max"]["id"] == "max"
    assert r["survived"]["id"] == "f-late"
    texts = [f["text"] for f in r["received"]]
    assert texts[-1] == "もう一回" and "ベル\x07です" not in texts
    assert Conversation.objects.get(pk=r["conversation"]).status == Status.ACTIVE


def test_console_frames_of_the_wrong_shape_get_an_answer_and_the_socket_lives_on(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    listener = sign_in(personas["listener_tsu"])
    wrong = [
        {"type": "unwatch", "conversation": [1]},
        {"type": "watch", "conversation": [1], "last_seq": "x"},
        {"type": "takeover", "conversation": {"id": 1}},
        {"type": "transfer", "conversation": [1], "to": [2]},
        {"type": "end", "conversation": [2]},
        {"type": "send", "conversation": [1], "id": [1], "text": 5},
        {"type": "note", "conversation": "abc", "id": "n1", "text": "メモ"},
        {"type": "typing", "conversation": None},
        {"type": "take_next", "line": "すべて"},
        {"type": "hello", "last_seq": [1], "own": {"a": 1}},
    ]

    async def scenario() -> dict[str, Any]:
        conversation, child, staff = await _talking(start_chat, listener)
        answers = []
        for frame in wrong:
            await staff.send_json_to(frame)
            await staff.send_json_to({"type": "ping"})
            answers.append(await frames_until(staff, lambda f: f["type"] == "pong"))
        await staff.send_json_to(
            {"type": "send", "conversation": conversation, "id": "s1", "text": "だいじょうぶ?"}
        )
        at_child = await next_of(child, "message")
        await child.disconnect()
        await staff.disconnect()
        return locals()

    r = run_async(scenario)
    errors = [of_type(frames, "error") for frames in r["answers"]]
    # Each is refused in words (or, for a watch one never had, ignored), none breaks it.
    assert [e[0]["code"] if e else None for e in errors] == [
        None,
        "not_found",
        "not_found",
        "not_found",
        "not_found",
        "not_found",
        "not_yours",
        "not_found",
        "queue_empty",  # no such line: every line, and nobody waits
        None,
    ]
    assert all(e[0]["message"] for e in errors if e)
    assert r["at_child"]["text"] == "だいじょうぶ?"


def test_a_message_that_could_not_be_stored_is_refused_with_its_id_and_the_chat_goes_on(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from django.db import OperationalError

    from uketome.chat import store

    listener = sign_in(personas["listener_tsu"])
    storing = store.message_post
    failures = ["disk I/O error"]

    async def failing_once(**kwargs: Any) -> Any:
        if failures:
            raise OperationalError(failures.pop())
        return await storing(**kwargs)

    monkeypatch.setattr(store, "message_post", failing_once)

    async def scenario() -> dict[str, Any]:
        conversation, child, staff = await _talking(start_chat, listener)
        await child.send_json_to({"type": "message", "id": "c1", "text": "たすけて"})
        refused = await next_of(child, "error")
        await child.send_json_to({"type": "message", "id": "c1", "text": "たすけて"})
        stored = await next_of(child, "ack")
        at_listener = await next_of(staff, "message")
        await child.disconnect()  # and its closing is handled as ever: the child is away
        await asyncio.sleep(0.2)
        away = await sync_to_async(
            lambda: Conversation.objects.get(pk=conversation).child_away_since
        )()
        await staff.disconnect()
        return locals()

    r = run_async(scenario)
    assert r["refused"]["code"] == "server_error" and r["refused"]["id"] == "c1"
    assert r["refused"]["message"] and "disk" not in r["refused"]["message"]  # no internals
    assert r["stored"]["id"] == "c1" and r["at_listener"]["text"] == "たすけて"
    assert r["away"] is not None
    assert "a frame could not be handled" in caplog.text


def test_a_hello_the_server_cannot_answer_closes_the_socket_so_the_page_tries_again(
    start_chat: Callable[..., tuple[int, str]], settings: Any
) -> None:
    # Redis unreachable (a deploy with UKETOME_REDIS_URL, Redis restarting): the child's
    # socket cannot join its chat.
    conversation, token = start_chat()

    async def scenario() -> dict[str, Any]:
        default = settings.CHANNEL_LAYERS
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens there
            }
        }
        socket = WebsocketCommunicator(application, "/ws/chat/", headers=ORIGIN)
        await socket.connect()
        hello = {"type": "hello", "conversation": conversation, "token": token, "last_seq": 0}
        await socket.send_json_to(hello)
        refused = await socket.receive_json_from(timeout=30)
        closed = await socket.receive_output(timeout=5)
        settings.CHANNEL_LAYERS = default  # back
        again, welcome = await child_socket(conversation, token)
        await again.disconnect()
        return locals()

    r = run_async(scenario)
    assert r["refused"]["code"] == "server_error" and r["refused"]["message"]
    assert r["closed"] == {"type": "websocket.close", "code": 1011}
    assert r["welcome"]["status"] == "waiting"


def test_the_lines_flood_limit_holds_for_the_listener_too(
    start_chat: Callable[..., tuple[int, str]],
    chat_line: Line,
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    """A line that allows 12 messages in 4 s lets the listener send 12 (more than the
    default 10) and refuses the 13th with a clear error; the child's own allowance is
    untouched and the refused message can be sent again later."""
    ChatSettings.objects.update_or_create(
        line=chat_line, defaults={"flood_messages": 12, "flood_seconds": 4}
    )
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> dict[str, Any]:
        conversation, child, staff = await _talking(start_chat, listener)

        def send(n: int | str) -> dict[str, Any]:
            return {"type": "send", "conversation": conversation, "id": f"s{n}", "text": f"返事{n}"}

        for n in range(12):
            await staff.send_json_to(send(n))
        acks = [await next_of(staff, "ack") for _ in range(12)]
        await staff.send_json_to(send("late"))
        refused = await next_of(staff, "error")
        await child.send_json_to({"type": "message", "id": "c1", "text": "はやいね"})
        child_ack = (await frames_until(child, lambda f: f["type"] in ("ack", "error")))[-1]
        await asyncio.sleep(4.1)
        await staff.send_json_to(send("late"))
        late = (await frames_until(staff, lambda f: f["type"] in ("ack", "error")))[-1]
        received = of_type(await frames_for(child, 0.5), "message")
        await child.disconnect()
        await staff.disconnect()
        return locals()

    r = run_async(scenario)
    assert [a["id"] for a in r["acks"]] == [f"s{n}" for n in range(12)]
    assert r["refused"]["code"] == "too_fast" and r["refused"]["id"] == "slate"
    assert r["refused"]["message"]
    assert r["child_ack"]["type"] == "ack" and r["child_ack"]["id"] == "c1"
    assert r["late"]["type"] == "ack" and r["late"]["id"] == "slate"
    texts = [f["text"] for f in r["received"]]
    assert texts.count("返事late") == 1


def test_a_token_opens_only_its_own_conversation(
    start_chat: Callable[..., tuple[int, str]],
) -> None:
    _mine, my_token = start_chat()
    other, other_token = start_chat()

    async def scenario() -> dict[str, Any]:
        socket = WebsocketCommunicator(application, "/ws/chat/", headers=ORIGIN)
        await socket.connect()
        await socket.send_json_to({"type": "message", "id": "x", "text": "先に"})
        before_hello = await next_of(socket, "error")
        await socket.send_json_to(
            {"type": "hello", "conversation": other, "token": my_token, "last_seq": 0}
        )
        refused = await next_of(socket, "error")
        closed = await socket.receive_output(timeout=2)
        unknown = WebsocketCommunicator(application, "/ws/chat/", headers=ORIGIN)
        await unknown.connect()
        await unknown.send_json_to(
            {"type": "hello", "conversation": 999999, "token": my_token, "last_seq": 0}
        )
        no_such = await next_of(unknown, "error")
        # The real owner is not affected.
        owner, welcome = await child_socket(other, other_token)
        await owner.send_json_to({"type": "message", "id": "o1", "text": "だいじょうぶ"})
        ack = await next_of(owner, "ack")
        await owner.disconnect()
        return locals()

    r = run_async(scenario)
    assert r["before_hello"]["code"] == "hello_first"
    assert r["refused"]["code"] == "not_found" and r["refused"]["message"]
    assert r["closed"]["code"] == 4404
    assert r["no_such"]["code"] == "not_found"  # the same answer: nothing to learn
    assert r["welcome"]["conversation"] == other and r["ack"]["seq"] == 1


def test_a_listener_past_the_line_limit_is_told_and_keeps_the_chats(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    for _ in range(3):
        start_chat()
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> list[dict[str, Any]]:
        staff, welcome = await staff_socket(listener)
        answers = []
        for _ in range(3):
            await staff.send_json_to({"type": "take_next"})
            answers.append(await frames_until_type(staff, ("assigned", "error")))
        await staff.disconnect()
        return [welcome, *answers]

    welcome, *answers = run_async(scenario)
    assert welcome["limit"] == 2
    assert [a["type"] for a in answers] == ["assigned", "assigned", "error"]
    assert answers[2]["code"] == "limit" and answers[2]["message"]
    assert Conversation.objects.filter(status=Status.WAITING).count() == 1


async def frames_until_type(socket: WebsocketCommunicator, kinds: tuple[str, ...]) -> Any:
    from tests.chat.conftest import frames_until

    return (await frames_until(socket, lambda f: f["type"] in kinds))[-1]


def test_a_cross_site_origin_is_refused(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])
    evil = [(b"origin", b"https://evil.example"), (b"host", b"testserver")]

    async def scenario() -> dict[str, Any]:
        # Through the real stack: refused at the handshake.
        socket = WebsocketCommunicator(application, "/ws/chat/", headers=evil)
        accepted, _ = await socket.connect()
        cookie = [
            h
            for h in __import__("tests.chat.conftest", fromlist=["x"]).cookie_headers(listener)
            if h[0] == b"cookie"
        ]
        staff = WebsocketCommunicator(application, "/ws/staff/chat/", headers=[*cookie, *evil])
        staff_accepted, _ = await staff.connect()
        # The consumer's own check, behind a permissive host list: a clear error frame.
        direct = WebsocketCommunicator(ChildChatConsumer.as_asgi(), "/ws/chat/", headers=evil)
        await direct.connect()
        error = await direct.receive_json_from(timeout=2)
        closed = await direct.receive_output(timeout=2)
        owner, welcome = await child_socket(conversation, token)
        await owner.disconnect()
        return locals()

    r = run_async(scenario)
    assert not r["accepted"] and not r["staff_accepted"]
    assert r["error"]["code"] == "origin" and r["error"]["message"]
    assert r["closed"]["code"] == 4403
    assert r["welcome"]["status"] == "waiting"


def test_a_childs_socket_reads_no_cookie_and_chat_sockets_hold_no_channel_of_their_own(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    """On a family computer a staff member's session cookie can reach the child's page:
    the child's socket must not read it. And no chat socket holds a channel on the layer
    (the hub holds one per process): after a restart every socket reconnects at once, and
    a channel each costs a Redis subscription each, or in memory a scan of all of them."""
    from channels.layers import get_channel_layer

    from tests.chat.conftest import cookie_headers
    from uketome.chat.hub import hub

    conversation, token = start_chat()
    listener = sign_in(personas["listener_tsu"])
    layer = get_channel_layer()

    async def scenario() -> dict[str, Any]:
        channels_before = set(layer.channels)
        child = WebsocketCommunicator(application, "/ws/chat/", headers=cookie_headers(listener))
        await child.connect()
        await child.send_json_to({"type": "hello", "conversation": conversation, "token": token})
        welcome = await next_of(child, "welcome")
        (consumer,) = hub.children
        child_scope = set(consumer.scope)
        staff, _ = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        await next_of(staff, "assigned")
        await child.send_json_to({"type": "message", "id": "c-1", "text": "きいて"})
        heard = await next_of(staff, "message")
        channels_open = set(layer.channels) - channels_before
        await child.disconnect()
        await staff.disconnect()
        return locals()

    r = run_async(scenario)
    assert r["welcome"]["status"] == "waiting"
    assert not {"session", "user", "cookies"} & r["child_scope"]
    assert r["heard"]["text"] == "きいて"  # the hub carried it, without the layer
    assert r["channels_open"] == set()


def test_only_signed_in_verified_staff_who_take_chats_open_the_console_socket(
    personas: dict[str, User], sign_in: Callable[..., Client], make_staff: Callable[..., User]
) -> None:
    from tests.chat.conftest import cookie_headers

    government = sign_in(personas["government"])
    coordinator = sign_in(personas["coordinator_tsu"])
    anonymous = Client()

    async def scenario() -> list[bool]:
        results = []
        for client in (government, coordinator, anonymous):
            socket = WebsocketCommunicator(
                application, "/ws/staff/chat/", headers=cookie_headers(client)
            )
            connected, _ = await socket.connect()
            results.append(connected)
        return results

    assert run_async(scenario) == [False, False, False]
    assert Role.SITE_COORDINATOR  # coordinators run sites; they do not take chats


def test_the_console_socket_refuses_a_session_not_fully_signed_in_or_no_longer_valid(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    """The console's socket checks the session cookie itself: password without the second
    factor, signed out, not a session, password changed since, account switched off: all
    refused."""
    from django.urls import reverse

    from tests.chat.conftest import cookie_headers
    from tests.conftest import PASSWORD

    listener, supervisor = personas["listener_tsu"], personas["supervisor_suzuka"]
    verified = sign_in(listener)
    supervising = sign_in(supervisor)
    password_only = Client()
    password_only.post(
        reverse("accounts:login"), {"username": listener.username, "password": PASSWORD}
    )
    signed_out = sign_in(personas["supporter_tsu"])
    signed_out.post(reverse("accounts:logout"))
    bystander = Client()
    bystander.cookies["uketome_staff"] = "not-a-session-key-at-all"

    def opens(client: Client) -> bool:
        async def scenario() -> bool:
            socket = WebsocketCommunicator(
                application, "/ws/staff/chat/", headers=cookie_headers(client)
            )
            connected, _ = await socket.connect()
            if connected:
                await socket.disconnect()
            return bool(connected)

        return bool(run_async(scenario))

    assert opens(verified) and opens(supervising)
    assert [opens(c) for c in (password_only, signed_out, bystander)] == [False] * 3
    listener.set_password("a-new-and-long-password-2026")
    listener.save()
    assert not opens(verified)  # the session no longer matches the password
    User.objects.filter(pk=supervisor.pk).update(is_active=False)
    assert not opens(supervising)

    async def without_cookie_middleware() -> bool:
        from uketome.chat.consumers import StaffChatConsumer

        socket = WebsocketCommunicator(StaffChatConsumer.as_asgi(), "/ws/staff/chat/")
        connected, code = await socket.connect()
        return bool(connected) or code != 4403

    assert not run_async(without_cookie_middleware)  # refused, not a crash
