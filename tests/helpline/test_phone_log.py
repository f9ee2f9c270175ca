"""The phone log form: one request to save, clear Japanese messages that keep what was
typed, retries stored once, and high risk opens an escalation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from uketome.accounts.models import User
from uketome.core.dates import TOKYO
from uketome.core.models import AuditEntry
from uketome.helpline.models import Contact, Escalation, Line


def _minute(delta: timedelta = timedelta(0)) -> str:
    return timezone.localtime(timezone.now() + delta, TOKYO).strftime("%Y-%m-%dT%H:%M")


def _post(lines: dict[str, Line], **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "client_ref": str(uuid.uuid4()),
        "outcome": "conversation",
        "minutes": "12",
        "age_band": "junior_high",
        "gender": "girl",
        "topics": ["bullying", "school"],
        "feelings": ["anxious"],
        "risk_level": "none",
        "summary": "クラスで無視されている。先生には言えない。",
        "repeat": "first",
        "started_at": _minute(-timedelta(minutes=20)),
        "line": str(lines["childline"].pk),
        "channel": "phone",
    }
    data.update(overrides)
    return data


@pytest.fixture
def listener(personas: dict[str, User], sign_in: Callable[..., Client]) -> Client:
    return sign_in(personas["listener_tsu"])


def test_a_typical_call_is_saved_with_one_request(
    listener: Client, lines: dict[str, Line], personas: dict[str, User]
) -> None:
    assert listener.get("/staff/contacts/new/").status_code == 200
    response = listener.post("/staff/contacts/new/", _post(lines))
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert response["Location"] == f"/staff/contacts/{contact.pk}/?saved=1"
    assert contact.listener == personas["listener_tsu"]
    assert contact.site is not None and contact.site.slug == "tsu"
    assert contact.duration_seconds == 12 * 60
    assert sorted(contact.topics.values_list("code", flat=True)) == ["bullying", "school"]
    assert contact.summary == "クラスで無視されている。先生には言えない。"
    assert AuditEntry.objects.filter(action="contact.created", target_id=str(contact.pk)).exists()


def test_a_silent_call_needs_only_the_outcome(listener: Client, lines: dict[str, Line]) -> None:
    response = listener.post(
        "/staff/contacts/new/",
        {
            "outcome": "silent",
            "started_at": _minute(),
            "line": str(lines["childline"].pk),
            "channel": "phone",
            "repeat": "unknown",
        },
    )
    assert response.status_code == 302
    assert Contact.objects.get().outcome.code == "silent"  # type: ignore[union-attr]


def test_a_retried_save_is_stored_once(listener: Client, lines: dict[str, Line]) -> None:
    data = _post(lines)
    first = listener.post("/staff/contacts/new/", data, HTTP_ACCEPT="application/json")
    second = listener.post("/staff/contacts/new/", data, HTTP_ACCEPT="application/json")
    assert first.json()["ok"] and second.json()["ok"]
    assert first.json()["id"] == second.json()["id"]
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"started_at": _minute(timedelta(hours=2))}, "started_at", "未来"),
        ({"minutes": "-5"}, "minutes", "マイナス"),
        ({"minutes": "ten"}, "minutes", "分"),
        ({"topics": ["bullying", "no_such_topic"]}, "topics", "no_such_topic"),
        ({"outcome": "maybe"}, "outcome", "選んで"),
        ({"outcome": ""}, "outcome", "結果を選んで"),
        ({"started_at": "2026-13-45T25:61"}, "started_at", "2026-11-26 20:55"),
    ],
)
def test_impossible_values_get_a_clear_japanese_message_and_keep_the_input(
    listener: Client, lines: dict[str, Line], overrides: dict[str, Any], field: str, message: str
) -> None:
    data = _post(lines, **overrides)
    response = listener.post("/staff/contacts/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert "クラスで無視されている。先生には言えない。" in page  # what was typed stays
    assert Contact.objects.count() == 0
    json_response = listener.post("/staff/contacts/new/", data, HTTP_ACCEPT="application/json")
    assert json_response.status_code == 400
    assert field in json_response.json()["errors"]


def test_the_end_cannot_be_in_the_future(listener: Client, lines: dict[str, Line]) -> None:
    response = listener.post(
        "/staff/contacts/new/", _post(lines, started_at=_minute(), minutes="90")
    )
    assert response.status_code == 400
    assert "終了が未来" in response.content.decode()


def test_identification_is_refused_on_an_always_anonymous_line(
    listener: Client, lines: dict[str, Line]
) -> None:
    response = listener.post(
        "/staff/contacts/new/",
        _post(lines, identified_with_consent="on", identification="三重 花子 090-0000-0000"),
    )
    assert response.status_code == 400
    assert "匿名" in response.content.decode()
    assert Contact.objects.count() == 0
    # On the line where the child may agree to be identified, it is kept (encrypted).
    response = listener.post(
        "/staff/contacts/new/",
        _post(
            lines,
            line=str(lines["hotdial"].pk),
            identified_with_consent="on",
            identification="三重 花子",
        ),
    )
    assert response.status_code == 302
    assert Contact.objects.get().identification == "三重 花子"


def test_high_risk_opens_an_escalation(listener: Client, lines: dict[str, Line]) -> None:
    listener.post("/staff/contacts/new/", _post(lines, risk_level="high"))
    contact = Contact.objects.get()
    assert contact.risk_rank == 2
    assert Escalation.objects.get(contact=contact).status == "open"
    listener.post("/staff/contacts/new/", _post(lines, risk_level="watch"))
    assert Escalation.objects.count() == 1


def test_the_form_never_answers_500_to_garbage(listener: Client, lines: dict[str, Line]) -> None:
    response = listener.post(
        "/staff/contacts/new/",
        {
            "client_ref": "not-a-uuid",
            "outcome": "<script>alert(1)</script>",
            "line": "999999",
            "channel": "telepathy",
            "repeat": "x",
            "started_at": "",
            "summary": "x" * 5000,
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page
    assert Contact.objects.count() == 0


def test_recorded_right_after_the_call_counts_back_from_now(
    listener: Client, lines: dict[str, Line]
) -> None:
    """The form opened when the call began is saved when it ended: the start left as the
    page set it, the call is taken to have ended now."""
    response = listener.post(
        "/staff/contacts/new/",
        _post(lines, started_at=_minute(), minutes="15", started_at_auto="True"),
    )
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.duration_seconds == 15 * 60
    assert contact.ended_at is not None and contact.ended_at <= timezone.now()
