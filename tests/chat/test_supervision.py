"""Supporters and supervisors: watch read-only, whisper, take over, transfer, see the load;
risk alerts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from tests.chat.conftest import (
    child_socket,
    cookie_headers,
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
from uketome.chat.models import Conversation, Message
from uketome.core.models import AuditEntry
from uketome.helpline.models import Line

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_supervisor_watches_whispers_and_takes_over_and_the_child_sees_none_of_it(
    start_chat: Callable[..., tuple[int, str]],
    make_staff: Callable[..., User],
    sign_in: Callable[..., Client],
) -> None:
    conversation, token = start_chat()
    listener_user = make_staff(Role.LISTENER, "tsu")
    supervisor_user = make_staff(Role.SUPERVISOR, "tsu")
    listener = sign_in(listener_user)
    supervisor = sign_in(supervisor_user)
    elsewhere = sign_in(make_staff(Role.SUPERVISOR, "suzuka"))

    async def scenario() -> dict[str, Any]:
        child, _ = await child_socket(conversation, token)
        staff, _ = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        await next_of(staff, "assigned")
        await child.send_json_to({"type": "message", "id": "c1", "text": "きいてほしい"})
        await next_of(child, "ack")
        await next_of(staff, "message")
        sup, sup_welcome = await staff_socket(supervisor)
        load = await next_of(sup, "load")
        await sup.send_json_to({"type": "watch", "conversation": conversation, "last_seq": 0})
        watching = await next_of(sup, "watching")
        replay = await next_of(sup, "message")
        # Read-only: a watcher cannot write to the child.
        await sup.send_json_to(
            {"type": "send", "conversation": conversation, "id": "x1", "text": "こんにちは"}
        )
        read_only = await next_of(sup, "error")
        await sup.send_json_to(
            {"type": "whisper", "conversation": conversation, "id": "w1", "text": "共感を先に"}
        )
        await next_of(sup, "ack")
        whisper = await next_of(staff, "message")
        other, _ = await staff_socket(elsewhere)
        await other.send_json_to({"type": "watch", "conversation": conversation, "last_seq": 0})
        not_theirs = await next_of(other, "error")
        await sup.send_json_to({"type": "takeover", "conversation": conversation})
        assigned = await next_of(sup, "assigned")
        released = await next_of(staff, "released")
        await sup.send_json_to(
            {"type": "send", "conversation": conversation, "id": "s1", "text": "かわりました"}
        )
        await next_of(sup, "ack")
        at_child = of_type(await frames_for(child, 0.5), "message")
        await staff.send_json_to(
            {"type": "send", "conversation": conversation, "id": "old", "text": "まだ?"}
        )
        old_listener = await next_of(staff, "error")
        for socket in (child, staff, sup, other):
            await socket.disconnect()
        return locals()

    r = run_async(scenario)
    assert r["load"]["listeners"][0]["active"] == 1
    assert [a["conversation"] for a in r["load"]["active"]] == [conversation]
    assert r["watching"]["conversation"]["id"] == conversation
    assert r["replay"]["text"] == "きいてほしい"
    assert r["read_only"]["code"] == "not_yours"
    assert r["whisper"]["from"] == "whisper" and r["whisper"]["text"] == "共感を先に"
    assert r["not_theirs"]["code"] == "not_found"
    assert r["assigned"]["conversation"]["id"] == conversation
    assert r["released"]["reason"] == "takeover"
    assert [m["text"] for m in r["at_child"]] == ["かわりました"]  # never the whisper
    assert r["old_listener"]["code"] == "not_yours"
    assert Conversation.objects.get(pk=conversation).listener == supervisor_user
    assert AuditEntry.objects.filter(action="chat.watched").count() == 1
    assert AuditEntry.objects.filter(action="chat.taken_over").count() == 1
    assert Message.objects.filter(conversation_id=conversation, sender="whisper").count() == 1


def test_a_listener_transfers_a_chat_to_a_colleague_who_then_has_it(
    start_chat: Callable[..., tuple[int, str]],
    make_staff: Callable[..., User],
    sign_in: Callable[..., Client],
) -> None:
    conversation, token = start_chat()
    one = make_staff(Role.LISTENER, "tsu")
    two = make_staff(Role.LISTENER, "tsu")
    first, second = sign_in(one), sign_in(two)

    async def scenario() -> dict[str, Any]:
        child, _ = await child_socket(conversation, token)
        a, _ = await staff_socket(first)
        b, _ = await staff_socket(second)
        await a.send_json_to({"type": "take_next"})
        await next_of(a, "assigned")
        await child.send_json_to({"type": "message", "id": "c1", "text": "はじめまして"})
        await next_of(a, "message")
        await a.send_json_to({"type": "transfer", "conversation": conversation, "to": two.pk})
        released = await next_of(a, "released")
        assigned = await next_of(b, "assigned")
        history = await next_of(b, "message")
        await b.send_json_to(
            {"type": "send", "conversation": conversation, "id": "b1", "text": "よろしくね"}
        )
        at_child = await next_of(child, "message")
        for socket in (child, a, b):
            await socket.disconnect()
        return locals()

    r = run_async(scenario)
    assert r["released"]["reason"] == "transfer"
    assert r["assigned"]["conversation"]["id"] == conversation
    assert r["history"]["text"] == "はじめまして"  # the new listener reads what came before
    assert r["at_child"]["text"] == "よろしくね"
    assert Conversation.objects.get(pk=conversation).listener == two


def test_a_chat_is_handed_only_to_someone_with_the_console_open(
    start_chat: Callable[..., tuple[int, str]],
    make_staff: Callable[..., User],
    sign_in: Callable[..., Client],
) -> None:
    # The transfer list is everyone who may take chats at the site; handing a child to a
    # colleague who has gone home would leave the child waiting with nobody there.
    conversation, token = start_chat()
    one = make_staff(Role.LISTENER, "tsu")
    two = make_staff(Role.LISTENER, "tsu")
    make_staff(Role.LISTENER, "suzuka")  # another site: not someone this listener hands to
    first, second = sign_in(one), sign_in(two)

    async def scenario() -> dict[str, Any]:
        child, _ = await child_socket(conversation, token)
        a, _ = await staff_socket(first)
        await a.send_json_to({"type": "take_next"})
        await next_of(a, "assigned")
        await a.send_json_to({"type": "transfer", "conversation": conversation, "to": two.pk})
        nobody_there = await next_of(a, "error")
        kept = await frames_for(a, 0.3)
        await a.send_json_to({"type": "targets"})
        listed_closed = await next_of(a, "targets")
        # The colleague opens the console: now the chat can go to them ...
        b, _ = await staff_socket(second)
        await a.send_json_to({"type": "targets"})
        listed_open = await next_of(a, "targets")
        await a.send_json_to({"type": "transfer", "conversation": conversation, "to": two.pk})
        await next_of(b, "assigned")
        # ... and after they close it, nobody can hand them a chat any more.
        await b.disconnect()
        await a.send_json_to({"type": "take_next"})
        await next_of(a, "assigned")
        await a.send_json_to({"type": "transfer", "conversation": second_chat, "to": two.pk})
        closed = await next_of(a, "error")
        for socket in (child, a):
            await socket.disconnect()
        return locals()

    second_chat, _ = start_chat()  # another child, for the last hand-over
    r = run_async(scenario)
    assert r["nobody_there"]["code"] == "busy"
    assert r["nobody_there"]["message"] == "その人は今、チャットのコンソールを開いていません。"
    assert not of_type(r["kept"], "released")
    assert r["closed"]["code"] == "busy"
    # The console's list says who is there (and lists nobody the listener may not see).
    assert {p["id"]: p["open"] for p in r["listed_closed"]["people"]} == {two.pk: False}
    assert {p["id"]: p["open"] for p in r["listed_open"]["people"]} == {two.pk: True}
    assert Conversation.objects.get(pk=conversation).listener == two
    assert Conversation.objects.get(pk=second_chat).listener == one


def test_a_console_that_comes_back_learns_what_became_of_its_chats_meanwhile(
    start_chat: Callable[..., tuple[int, str]],
    make_staff: Callable[..., User],
    sign_in: Callable[..., Client],
) -> None:
    # The listener's connection drops (a deploy, a network blip). Meanwhile the child
    # writes one last message and ends one chat, and a supervisor takes over the other.
    ending, ending_token = start_chat()
    handed, _handed_token = start_chat()
    someone_elses, _ = start_chat()
    listener_user = make_staff(Role.LISTENER, "tsu")
    listener = sign_in(listener_user)
    supervisor = sign_in(make_staff(Role.SUPERVISOR, "tsu"))
    colleague = sign_in(make_staff(Role.LISTENER, "tsu"))

    async def scenario() -> dict[str, Any]:
        child, _ = await child_socket(ending, ending_token)
        console, _ = await staff_socket(listener)
        for _ in range(2):
            await console.send_json_to({"type": "take_next"})
            await next_of(console, "assigned")
        await child.send_json_to({"type": "message", "id": "c1", "text": "あのね"})
        first = await next_of(console, "message")
        await console.disconnect()
        await child.send_json_to({"type": "message", "id": "c2", "text": "やっぱりこわい"})
        await next_of(child, "ack")
        await child.send_json_to({"type": "end"})
        await next_of(child, "end")
        sup, _ = await staff_socket(supervisor)
        await sup.send_json_to({"type": "takeover", "conversation": handed})
        await next_of(sup, "assigned")
        other, _ = await staff_socket(colleague)
        await other.send_json_to({"type": "take_next"})
        await next_of(other, "assigned")
        back, welcome = await staff_socket(
            listener, last_seq={str(ending): first["seq"]}, own=[ending, handed, someone_elses]
        )
        frames = await frames_for(back, 0.5)
        for socket in (sup, other, back):
            await socket.disconnect()
        return locals()

    r = run_async(scenario)
    assert r["welcome"]["conversations"] == []  # no live chat of theirs any more
    about_ending = [f for f in r["frames"] if f.get("conversation") == ending]
    assert [f["type"] for f in about_ending] == ["message", "end"]
    assert about_ending[0]["text"] == "やっぱりこわい"  # what came while away, once
    assert about_ending[1]["reason"] == "child"
    assert about_ending[1]["record_url"] == f"/staff/chat/{ending}/record/"
    # The chat taken over, and one the console was never given, are simply not theirs:
    # nothing about them, not even who has them now.
    released = of_type(r["frames"], "released")
    assert [(f["conversation"], f["to"]) for f in released] == [
        (handed, None),
        (someone_elses, None),
    ]
    assert not [
        f
        for f in r["frames"]
        if f.get("conversation") in (handed, someone_elses) and f["type"] != "released"
    ]


def test_a_watcher_stops_following_a_chat_handed_to_another_site(
    start_chat: Callable[..., tuple[int, str]],
    make_staff: Callable[..., User],
    sign_in: Callable[..., Client],
) -> None:
    conversation, token = start_chat()
    first = make_staff(Role.LISTENER, "tsu")
    colleague = make_staff(Role.LISTENER, "tsu")
    elsewhere = make_staff(Role.LISTENER, "suzuka")
    listener, supervisor = sign_in(first), sign_in(make_staff(Role.SUPERVISOR, "tsu"))
    second, third = sign_in(colleague), sign_in(elsewhere)

    async def scenario() -> dict[str, Any]:
        child, _ = await child_socket(conversation, token)
        a, _ = await staff_socket(listener)
        b, _ = await staff_socket(second)
        c, _ = await staff_socket(third)
        sup, _ = await staff_socket(supervisor)
        await a.send_json_to({"type": "take_next"})
        await next_of(a, "assigned")
        await sup.send_json_to({"type": "watch", "conversation": conversation, "last_seq": 0})
        await next_of(sup, "watching")
        # Within the site: the supervisor goes on watching.
        await a.send_json_to({"type": "transfer", "conversation": conversation, "to": colleague.pk})
        await next_of(b, "assigned")
        same_site = await frames_for(sup, 0.5)
        await child.send_json_to({"type": "message", "id": "c1", "text": "まだ話したい"})
        still_heard = await next_of(sup, "message")
        # To another site: the supervisor of the first site no longer may.
        await b.send_json_to({"type": "transfer", "conversation": conversation, "to": elsewhere.pk})
        moved = await next_of(sup, "released")
        await child.send_json_to({"type": "message", "id": "c2", "text": "ひみつの話"})
        await next_of(child, "ack")
        after = await frames_for(sup, 0.5)
        await sup.send_json_to(
            {"type": "whisper", "conversation": conversation, "id": "w1", "text": "どう?"}
        )
        whisper = await next_of(sup, "error")
        for socket in (child, a, b, c, sup):
            await socket.disconnect()
        return locals()

    r = run_async(scenario)
    assert not of_type(r["same_site"], "released")
    assert r["still_heard"]["text"] == "まだ話したい"
    assert r["moved"] == {
        "type": "released",
        "conversation": conversation,
        "reason": "moved",
        "to": None,
    }
    assert not of_type(r["after"], "message")  # nothing of the child's after the move
    assert r["whisper"]["code"] == "not_yours"


def test_a_high_risk_message_alerts_the_supervisors_signed_in(
    start_chat: Callable[..., tuple[int, str]],
    make_staff: Callable[..., User],
    sign_in: Callable[..., Client],
) -> None:
    conversation, token = start_chat()
    listener = sign_in(make_staff(Role.LISTENER, "tsu"))
    supervisor = sign_in(make_staff(Role.SUPERVISOR, "tsu"))
    elsewhere = sign_in(make_staff(Role.SUPERVISOR, "suzuka"))

    async def scenario() -> dict[str, Any]:
        alerts = WebsocketCommunicator(
            application, "/ws/staff/alerts/", headers=cookie_headers(supervisor)
        )
        assert (await alerts.connect())[0]
        other_site = WebsocketCommunicator(
            application, "/ws/staff/alerts/", headers=cookie_headers(elsewhere)
        )
        assert (await other_site.connect())[0]
        sup, _ = await staff_socket(supervisor)
        child, _ = await child_socket(conversation, token)
        staff, _ = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        await next_of(staff, "assigned")
        await child.send_json_to({"type": "message", "id": "c1", "text": "しにたくなる"})
        banner = await alerts.receive_json_from(timeout=5)
        alert = await next_of(sup, "alert")
        seen = await next_of(staff, "message")
        flagged = await next_of(staff, "risk")
        await child.send_json_to({"type": "message", "id": "c2", "text": "死ぬほど眠い"})
        calm = await next_of(staff, "message")
        calm_recorded = await recorded_level(conversation, calm["seq"])
        # A supervisor of another site hears nothing of this site's chat.
        heard_elsewhere = await frames_for(other_site, 0.3)
        for socket in (alerts, other_site, sup, child, staff):
            await socket.disconnect()
        return locals()

    r = run_async(scenario)
    assert r["banner"]["event"] == "chat.risk" and r["banner"]["conversation"] == conversation
    assert r["banner"]["url"] == "/staff/chat/"  # the staff pages' banner links the console
    # ...and names the level as the other alerts do (in Japanese, with its rank).
    assert (r["banner"]["risk"], r["banner"]["rank"]) in (("高", 2), ("緊急", 3))
    assert r["heard_elsewhere"] == []
    assert r["alert"]["conversation"] == conversation and r["alert"]["risk"] in ("high", "urgent")
    # The message reaches the listener at once; its level follows as soon as it is scored.
    assert r["seen"]["text"] == "しにたくなる"
    assert r["flagged"]["seq"] == r["seen"]["seq"] and r["flagged"]["risk"] in ("high", "urgent")
    assert r["calm"]["risk"] == "none"
    assert Conversation.objects.get(pk=conversation).risk_rank >= 2
    stored = dict(
        Message.objects.filter(conversation_id=conversation).values_list("seq", "risk_rank")
    )
    assert stored[r["seen"]["seq"]] >= 2
    assert stored[r["calm"]["seq"]] == 0  # scored, and found calm (recorded with others)
    assert r["calm_recorded"] < 2.0


async def recorded_level(conversation: int, seq: int, timeout: float = 5) -> float:
    """Seconds until the message's level is in the database."""
    started = asyncio.get_running_loop().time()
    read = sync_to_async(
        lambda: Message.objects.get(conversation_id=conversation, seq=seq).risk_rank
    )
    while await read() is None:
        waited = asyncio.get_running_loop().time() - started
        assert waited < timeout, "the message's level was never recorded"
        await asyncio.sleep(0.05)
    return asyncio.get_running_loop().time() - started


def test_a_message_is_delivered_while_the_background_work_is_stuck(
    start_chat: Callable[..., tuple[int, str]],
    make_staff: Callable[..., User],
    sign_in: Callable[..., Client],
) -> None:
    """Scoring, the sweep and queue reads run on a thread of their own: however long they
    take, a child's message reaches the listener; its level follows when they are done."""
    from uketome.chat.hub import background_thread

    conversation, token = start_chat()
    listener = sign_in(make_staff(Role.LISTENER, "tsu"))
    release = threading.Event()

    async def scenario() -> dict[str, Any]:
        child, _ = await child_socket(conversation, token)
        staff, _ = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        await next_of(staff, "assigned")
        stuck = background_thread.submit(lambda: release.wait(30))
        await child.send_json_to({"type": "message", "id": "c1", "text": "殴られてる"})
        ack = await next_of(child, "ack")
        seen = await next_of(staff, "message")
        # The child's next message does not wait for the first one's scoring either.
        await child.send_json_to({"type": "message", "id": "c2", "text": "たすけて"})
        second_ack = await next_of(child, "ack")
        second = await next_of(staff, "message")
        before_release = of_type(await frames_for(staff, 0.3), "risk")
        release.set()
        await asyncio.wrap_future(stuck)
        flagged = await next_of(staff, "risk")
        for socket in (child, staff):
            await socket.disconnect()
        return locals()

    try:
        r = run_async(scenario)
    finally:
        release.set()
    assert r["ack"]["seq"] == r["seen"]["seq"] and r["seen"]["text"] == "殴られてる"
    assert r["second_ack"]["seq"] == r["second"]["seq"] == r["seen"]["seq"] + 1
    assert r["before_release"] == []  # not scored yet: the scoring waits its turn
    assert r["flagged"]["seq"] == r["seen"]["seq"] and r["flagged"]["risk"] in ("high", "urgent")


def test_a_message_a_crash_left_unscored_is_scored_by_the_sweep(
    start_chat: Callable[..., tuple[int, str]],
) -> None:
    conversation, _token = start_chat()
    # Stored and delivered, but the process died before scoring it.
    services.message_post(
        conversation_id=conversation, sender="child", client_id="c1", text="しにたくなる"
    )
    message = Message.objects.get(conversation_id=conversation, client_id="c1")
    assert message.risk_rank is None
    assert services.sweep().assessed == 0  # just stored: the live path has its turn first

    later = timezone.now() + services.ASSESS_GRACE + timedelta(seconds=1)
    assert services.sweep(now=later).assessed == 1
    message.refresh_from_db()
    assert message.risk_rank is not None and message.risk_rank >= 2
    assert Conversation.objects.get(pk=conversation).risk_rank >= 2
    raised = AuditEntry.objects.filter(action="chat.risk_raised")
    assert raised.count() == 1

    # Scored once: another process (or the live path, late) changes nothing.
    assert services.sweep(now=later).assessed == 0
    assert services.message_assess(message) is None
    assert services.messages_record_calm([(conversation, message.seq)]) == 0
    message.refresh_from_db()
    assert message.risk_rank >= 2
    assert raised.count() == 1


def test_a_message_that_cannot_be_scored_stops_neither_the_others_nor_the_timers(
    start_chat: Callable[..., tuple[int, str]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, _ = start_chat()
    second, _ = start_chat()
    for conversation, text in ((first, "壊れた文"), (second, "しにたくなる")):
        services.message_post(
            conversation_id=conversation, sender="child", client_id="c1", text=text
        )
    Conversation.objects.filter(pk=first).update(child_away_since=timezone.now())
    scoring = services.assess_text

    def fails_on_one(text: str) -> Any:
        if text == "壊れた文":  # a lexicon entry the scorer chokes on, say
            raise ValueError("bad pattern")
        return scoring(text)

    monkeypatch.setattr(services, "assess_text", fails_on_one)

    result = services.sweep(now=timezone.now() + timedelta(seconds=121))
    assert result.assessed == 1  # the other child's message is scored
    assert Message.objects.get(conversation_id=second).risk_rank >= 2
    assert Message.objects.get(conversation_id=first).risk_rank is None  # tried again later
    assert result.ended == {first: "left"}  # and the timers ran
    assert f"message {first}#1 could not be scored" in caplog.text


def test_calm_messages_are_recorded_together_and_only_once(
    start_chat: Callable[..., tuple[int, str]],
) -> None:
    conversation, _token = start_chat()
    other, _token = start_chat()
    for n, (where, text) in enumerate(
        [(conversation, "こんばんは"), (other, "きょうはねむい"), (conversation, "またね")]
    ):
        services.message_post(conversation_id=where, sender="child", client_id=f"c{n}", text=text)
    keys = [(conversation, 1), (other, 1), (conversation, 2)]
    assert services.messages_record_calm([*keys, (conversation, 99)]) == 3
    levels = Message.objects.filter(conversation_id__in=[conversation, other])
    assert sorted(levels.values_list("conversation_id", "seq", "risk_rank")) == sorted(
        (c, seq, 0) for c, seq in keys
    )
    assert services.messages_record_calm(keys) == 0  # recorded once
    later = timezone.now() + services.ASSESS_GRACE + timedelta(seconds=1)
    assert services.sweep(now=later).assessed == 0  # nothing left for the sweep


def test_a_long_queue_reaches_the_console_as_its_head_and_a_count(
    chat_line: Line,
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    from uketome.chat.consumers import QUEUE_SHOWN

    # Through the service: a test's one address would meet the per-address start limit.
    waiting = [services.conversation_start(line=chat_line)[0].pk for _ in range(QUEUE_SHOWN + 2)]
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        staff, welcome = await staff_socket(listener)
        await staff.send_json_to({"type": "take_next"})
        assigned = await next_of(staff, "assigned")
        pushed = await next_of(staff, "queue")
        await staff.disconnect()
        return welcome, assigned, pushed

    welcome, assigned, pushed = run_async(scenario)
    # The head of the queue in priority order (here the longest wait first), and how many
    # wait in all; "take next" still takes the first of the whole queue.
    assert [item["conversation"] for item in welcome["queue"]] == waiting[:QUEUE_SHOWN]
    assert welcome["waiting"] == QUEUE_SHOWN + 2
    assert assigned["conversation"]["id"] == waiting[0]
    assert [item["conversation"] for item in pushed["items"]] == waiting[1 : QUEUE_SHOWN + 1]
    assert pushed["waiting"] == QUEUE_SHOWN + 1


def test_a_chat_taken_in_one_console_opens_in_the_listeners_other_consoles(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    conversation, _token = start_chat()
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        desk, _ = await staff_socket(listener)
        tablet, _ = await staff_socket(listener)
        await desk.send_json_to({"type": "take_next"})
        taken = await next_of(desk, "assigned")
        seen = await next_of(tablet, "assigned")
        await desk.send_json_to(
            {"type": "send", "conversation": conversation, "id": "l1", "text": "こんばんは"}
        )
        echoed = await next_of(tablet, "message")
        for socket in (desk, tablet):
            await socket.disconnect()
        return taken, seen, echoed

    taken, seen, echoed = run_async(scenario)
    assert taken["conversation"]["id"] == seen["conversation"]["id"] == conversation
    assert echoed["text"] == "こんばんは"  # the other console follows the chat


def test_the_queue_is_pushed_to_the_console_with_pre_chat_answers_and_risk(
    start_chat: Callable[..., tuple[int, str]],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> list[dict[str, Any]]:
        staff, welcome = await staff_socket(listener)
        assert welcome["queue"] == []
        from asgiref.sync import sync_to_async

        await sync_to_async(start_chat)(age_band="upper_elementary", topics=["bullying"])
        frames = await frames_until(staff, lambda f: f["type"] == "queue" and bool(f["items"]))
        await staff.disconnect()
        return frames

    queue = run_async(scenario)[-1]["items"]
    assert len(queue) == 1
    assert queue[0]["age_band"] == "upper_elementary" and queue[0]["topics"] == ["bullying"]
    assert queue[0]["risk"] == "none" and queue[0]["waiting_since"]


def test_a_chat_whose_listener_is_gone_goes_back_to_the_queue_for_the_next_listener(
    server_up_for_a_while: None,
    start_chat: Callable[..., tuple[int, str]],
    make_staff: Callable[..., User],
    sign_in: Callable[..., Client],
) -> None:
    # One listener's console dies mid-chat (a crashed browser, a dead network) and does
    # not come back; another's drops and comes back within the grace. Only the first chat
    # goes back to the queue, ahead of children who came later; its child is told and
    # the next listener reads everything said so far.
    gone_chat, gone_token = start_chat()
    kept_chat, _ = start_chat()
    gone_user, kept_user, next_user = (make_staff(Role.LISTENER, "tsu") for _ in range(3))
    gone, kept, next_listener = sign_in(gone_user), sign_in(kept_user), sign_in(next_user)
    supervisor = sign_in(make_staff(Role.SUPERVISOR, "tsu"))
    later_child = start_chat()[0]
    sweep = sync_to_async(services.sweep)
    t0 = timezone.now()

    async def scenario() -> dict[str, Any]:
        child, _ = await child_socket(gone_chat, gone_token)
        a, _ = await staff_socket(gone)
        await a.send_json_to({"type": "take_next"})
        await next_of(a, "assigned")
        b, _ = await staff_socket(kept)
        await b.send_json_to({"type": "take_next"})
        await next_of(b, "assigned")
        await next_of(child, "status")
        watcher, _ = await staff_socket(supervisor)
        await watcher.send_json_to({"type": "watch", "conversation": gone_chat, "last_seq": 0})
        await next_of(watcher, "watching")
        await child.send_json_to({"type": "message", "id": "c1", "text": "きいてほしいことがある"})
        await next_of(a, "message")
        await a.disconnect()
        await b.disconnect()
        first = await sweep(now=t0)  # both gone: noted, nothing moves yet
        b, _ = await staff_socket(kept)  # back within the grace
        second = await sweep(now=t0 + timedelta(seconds=60))
        third = await sweep(now=t0 + timedelta(seconds=121))
        told = await frames_until(child, lambda f: f["type"] == "queue")
        unwatched = await next_of(watcher, "released")
        await watcher.disconnect()
        # The one who came back is gone again: the grace starts anew, not from the first.
        await b.disconnect()
        fourth = await sweep(now=t0 + timedelta(seconds=150))
        c, _ = await staff_socket(next_listener)
        await c.send_json_to({"type": "take_next"})
        assigned = await next_of(c, "assigned")
        history = await frames_until(c, lambda f: f.get("from") == "system")
        for socket in (child, c):
            await socket.disconnect()
        return locals()

    r = run_async(scenario)
    assert (r["first"].returned, r["second"].returned) == ([], [])
    assert r["third"].returned == [gone_chat]
    assert r["fourth"].returned == []
    # The supervisor who watched it is told it went back to the queue (not "moved").
    assert (r["unwatched"]["conversation"], r["unwatched"]["reason"]) == (gone_chat, "returned")
    notice = of_type(r["told"], "message")
    assert [m["from"] for m in notice] == ["system"]
    assert "待って" in notice[0]["text"]
    assert of_type(r["told"], "status")[0]["status"] == "waiting"
    assert of_type(r["told"], "queue")[-1]["position"] == 1  # ahead of the child who came later
    assert r["assigned"]["conversation"]["id"] == gone_chat
    said = [(m["from"], m["text"]) for m in of_type(r["history"], "message")]
    assert said[0] == ("child", "きいてほしいことがある") and said[-1][0] == "system"
    back = Conversation.objects.get(pk=gone_chat)
    assert back.listener == next_user
    # The child's wait is the one before the first answer (statistics, the contact
    # record); the new listener's take restarts the inactivity clock.
    assert back.claimed_at is not None and back.taken_at is not None
    assert back.claimed_at < back.taken_at
    assert Conversation.objects.get(pk=kept_chat).listener == kept_user
    assert Conversation.objects.get(pk=later_child).status == "waiting"
    returned = AuditEntry.objects.get(action="chat.returned")
    assert returned.data == {"from": gone_user.pk}
