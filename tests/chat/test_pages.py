"""The chat pages: the child's /chat/, the start, the console, the transcript, the contact
record pre-filled from a chat, retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from uketome.accounts.models import User
from uketome.accounts.roles import Role
from uketome.chat import services
from uketome.chat.models import CannedPhrase, ChatSettings, Conversation, Message
from uketome.core.models import AuditEntry
from uketome.helpline.models import Closure, Contact, Line

pytestmark = pytest.mark.django_db


def test_the_chat_page_shows_the_promises_and_the_pre_chat_and_sets_no_cookie(
    chat_line: Line,
) -> None:
    response = Client().get("/chat/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="prechat"' in page and 'name="age_band"' in page and 'name="topics"' in page
    assert "chat-child.js" in page and 'id="quick-exit"' in page
    assert not response.cookies
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in page  # no inline script (strict CSP)


def test_outside_the_hours_the_page_says_when_chat_opens_and_what_is_open_now(
    chat_line: Line,
) -> None:
    now = timezone.now()
    Closure.objects.create(
        line=chat_line,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=3),
        reason="holiday",
    )
    phone = Line.objects.create(
        name="チャイルドライン",
        slug="childline",
        channels=["phone"],
        identity_policy="anonymous",
        phone_number="0120-99-7777",
        always_open=True,
    )
    page = Client().get("/chat/").content.decode()
    assert 'id="prechat"' not in page and "chat-child.js" not in page
    assert 'class="next-open"' in page
    assert phone.name in page and "tel:0120997777" in page


def test_a_start_from_another_site_or_with_unknown_answers_is_refused(chat_line: Line) -> None:
    client = Client()
    cross = client.post("/chat/start/", {}, HTTP_ORIGIN="https://evil.example")
    assert cross.status_code == 403
    odd = client.post("/chat/start/", {"age_band": "forty"}, HTTP_ORIGIN="http://testserver")
    assert odd.status_code == 400 and odd.json()["error"] == "bad_request"
    assert not Conversation.objects.exists()
    flood = [
        client.post("/chat/start/", {}, HTTP_ORIGIN="http://testserver").status_code
        for _ in range(6)
    ]
    # Six tries in ten minutes from one address (the refused try above counted too).
    assert flood[:5] == [201] * 5 and flood[5] == 429


def _ended_chat(listener: User, *, minutes: int = 25, ago_days: int = 0) -> Conversation:
    line = Line.objects.get(slug="chat")
    conversation, _token = services.conversation_start(
        line=line, age_band="junior_high", gender="girl", topics=["family", "school"]
    )
    services.conversation_claim_next(actor=listener)
    services.message_post(
        conversation_id=conversation.pk, sender="child", client_id="c1", text="家がつらい"
    )
    services.message_post(
        conversation_id=conversation.pk,
        sender="listener",
        client_id="s1",
        text="話してくれてありがとう",
        author=listener,
    )
    services.conversation_end(conversation_id=conversation.pk, reason="listener", actor=listener)
    start = timezone.now() - timedelta(days=ago_days, minutes=minutes)
    Conversation.objects.filter(pk=conversation.pk).update(
        started_at=start - timedelta(minutes=2),
        claimed_at=start,
        ended_at=start + timedelta(minutes=minutes),
    )
    return Conversation.objects.get(pk=conversation.pk)


def test_ending_a_chat_opens_the_contact_form_pre_filled_and_the_contact_links_the_chat(
    chat_line: Line, personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    listener = personas["listener_tsu"]
    conversation = _ended_chat(listener)
    client = sign_in(listener)
    form = client.get(f"/staff/chat/{conversation.pk}/record/")
    assert form.status_code == 200
    bound = form.context["form"]
    assert bound.initial["channel"] == "chat" and bound.initial["line"] == chat_line.pk
    assert bound.initial["minutes"] == 25
    assert bound.initial["age_band"] == "junior_high" and bound.initial["gender"] == "girl"
    assert bound.initial["topics"] == ["family", "school"]
    page = form.content.decode()
    assert 'value="family" data-search' in page and "checked" in page
    # Its own draft in the tab: a phone-log draft is never restored over it.
    assert f'data-draft-key="chat-record-{conversation.pk}"' in page
    saved = client.post(
        f"/staff/chat/{conversation.pk}/record/",
        {
            "started_at": bound.initial["started_at"],
            "started_at_auto": "",
            "minutes": "25",
            "line": chat_line.pk,
            "channel": "chat",
            "outcome": "conversation",
            "age_band": "junior_high",
            "gender": "girl",
            "topics": ["family"],
            "risk_level": "watch",
            "repeat": "unknown",
            "summary": "家族のことで話した。",
        },
    )
    assert saved.status_code == 302, saved.content[:2000]
    contact = Contact.objects.get()
    assert (contact.source_kind, contact.source_id) == ("chat", conversation.pk)
    assert contact.channel == "chat" and contact.duration_seconds == 25 * 60
    assert contact.listener == listener and contact.site == conversation.site
    again = client.get(f"/staff/chat/{conversation.pk}/record/")
    assert again.status_code == 302 and again["Location"] == f"/staff/contacts/{contact.pk}/"


def test_a_transcript_is_seen_like_the_contact_and_every_read_is_audited(
    chat_line: Line,
    personas: dict[str, User],
    make_staff: Callable[..., User],
    sign_in: Callable[..., Client],
) -> None:
    conversation = _ended_chat(personas["listener_tsu"])
    url = f"/staff/chat/{conversation.pk}/"
    own = sign_in(personas["listener_tsu"]).get(url)
    assert own.status_code == 200 and "家がつらい" in own.content.decode()
    assert sign_in(make_staff(Role.SUPERVISOR, "tsu")).get(url).status_code == 200
    assert sign_in(personas["secretariat"]).get(url).status_code == 200
    other_listener = sign_in(make_staff(Role.LISTENER, "tsu"))
    assert other_listener.get(url).status_code == 404
    assert sign_in(personas["supervisor_suzuka"]).get(url).status_code == 404
    assert sign_in(personas["government"]).get(url).status_code == 404
    assert AuditEntry.objects.filter(action="chat.read").count() == 3
    assert AuditEntry.objects.filter(action="chat.read_refused").count() == 3


def test_html_in_a_message_is_shown_as_text_in_the_transcript(
    chat_line: Line, personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    conversation = _ended_chat(personas["listener_tsu"])
    Message.objects.filter(conversation=conversation, seq=1).update(
        text="<script>alert(1)</script>"
    )
    page = sign_in(personas["listener_tsu"]).get(f"/staff/chat/{conversation.pk}/").content
    assert b"<script>alert(1)</script>" not in page
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_console_is_for_staff_who_take_or_supervise_chats(
    chat_line: Line, personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    CannedPhrase.objects.create(line=chat_line, text="話してくれてありがとう。")
    page = sign_in(personas["listener_tsu"]).get("/staff/chat/")
    assert page.status_code == 200
    assert page.context["phrases"] == {str(chat_line.pk): ["話してくれてありがとう。"]}
    assert sign_in(personas["government"]).get("/staff/chat/").status_code == 404
    assert sign_in(personas["coordinator_tsu"]).get("/staff/chat/").status_code == 404


def test_retention_removes_old_transcripts_and_keeps_the_statistics(
    chat_line: Line, personas: dict[str, User]
) -> None:
    chat_line.retention_days = 30
    chat_line.save()
    old = _ended_chat(personas["listener_tsu"], ago_days=40)
    recent = _ended_chat(personas["listener_tsu"], ago_days=3)
    call_command("chat_retention", stdout=_Sink())
    old.refresh_from_db()
    assert old.transcript_removed_at is not None
    assert not Message.objects.filter(conversation=old).exists()
    assert old.age_band == "junior_high" and old.claimed_at is not None  # statistics stay
    assert Message.objects.filter(conversation=recent).count() == 2
    assert AuditEntry.objects.filter(action="chat.retention_run").exists()


class _Sink:
    def write(self, _text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def test_nothing_about_the_childs_device_is_stored(chat_line: Line) -> None:
    fields = {f.name for f in Conversation._meta.get_fields()} | {
        f.name for f in Message._meta.get_fields()
    }
    words = {"ip", "agent", "device", "address", "useragent", "remote"}
    assert not {n for n in fields if words & set(n.split("_"))}


def test_the_demo_gives_the_chat_line_its_settings_and_canned_phrases(db: None) -> None:
    from uketome.chat.demo import PHRASES, load_chat
    from uketome.helpline.demo import load_lines

    load_lines()
    assert load_chat() == 1
    assert load_chat() == 1  # safe to run again
    line = Line.objects.get(slug="chat")
    assert list(CannedPhrase.objects.filter(line=line).values_list("text", flat=True)) == PHRASES
    assert ChatSettings.objects.get(line=line).max_per_listener == 2


def test_the_console_renews_the_sign_in_while_the_listener_works(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    """The console talks over its socket, which does not renew the sign-in: it calls this
    address while the listener works, and reads a redirect as "signed out"."""
    from django.conf import settings
    from django.contrib.sessions.models import Session

    working = sign_in(personas["listener_tsu"])
    key = working.cookies[settings.SESSION_COOKIE_NAME].value
    # Twenty-five minutes without a page: five left before the sign-in expires.
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + timedelta(minutes=5)
    )
    assert working.get("/staff/chat/alive/").status_code == 204
    renewed = Session.objects.get(session_key=key).expire_date - timezone.now()
    assert renewed > timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
    assert Client().get("/staff/chat/alive/").status_code == 302  # to the sign-in page
