"""Who drafts, who approves, who reads: the rules in core.permissions, through the pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from uketome.core.models import AuditEntry
from uketome.core.permissions import approve_qa_answer, draft_qa_answer, view_qa_question
from uketome.qa import services
from uketome.qa.models import Question, Status


@pytest.mark.parametrize(
    ("who", "reads", "drafts", "approves"),
    [
        ("listener_tsu", True, True, False),
        ("supporter_tsu", True, True, False),
        ("supervisor_suzuka", True, True, True),
        ("secretariat", True, False, True),
        ("coordinator_tsu", False, False, False),
        ("government", False, False, False),
        ("fostercare", False, False, False),
        ("sysadmin", False, False, False),
    ],
)
def test_rules(staff: dict[str, Any], who: str, reads: bool, drafts: bool, approves: bool) -> None:
    user = staff[who]
    assert view_qa_question.test(user) is reads
    assert draft_qa_answer.test(user) is drafts
    assert approve_qa_answer.test(user) is approves


def test_selector_agrees_with_the_rule(
    asked: Callable[..., Question], staff: dict[str, Any]
) -> None:
    question = asked()
    for user in staff.values():
        visible = view_qa_question.filter(user, Question.objects.all()).filter(pk=question.pk)
        assert visible.exists() is view_qa_question.test(user, question)


@pytest.mark.parametrize("who", ["coordinator_tsu", "government", "sysadmin"])
def test_others_get_not_found_and_the_try_is_audited(
    asked: Callable[..., Question], staff: dict[str, Any], sign_in: Callable[..., Client], who: str
) -> None:
    question = asked()
    client = sign_in(staff[who])
    assert client.get(reverse("qa:staff_list")).status_code == 404
    assert client.get(reverse("qa:staff_detail", args=[question.pk])).status_code == 404
    assert AuditEntry.objects.filter(
        action="qa.question_read_denied", actor_id=staff[who].pk
    ).exists()
    assert question.body not in client.get(reverse("qa:staff_list")).content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(asked: Callable[..., Question]) -> None:
    question = asked()
    response = Client().get(reverse("qa:staff_detail", args=[question.pk]))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_a_listener_cannot_approve(
    in_review: Callable[..., Question], staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    question = in_review(by="supporter_tsu")
    for who in ("listener_tsu", "supporter_tsu", "listener_suzuka"):
        client = sign_in(staff[who])
        response = client.post(
            reverse("qa:staff_decide", args=[question.pk]), {"action": "approve"}
        )
        assert response.status_code == 404
    question.refresh_from_db()
    assert question.status == Status.REVIEW


def test_nobody_approves_their_own_draft(
    in_review: Callable[..., Question], staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    question = in_review(by="supervisor_suzuka")
    client = sign_in(staff["supervisor_suzuka"])
    response = client.post(reverse("qa:staff_decide", args=[question.pk]), {"action": "approve"})
    assert response.status_code == 400
    question.refresh_from_db()
    assert question.status == Status.REVIEW
    services.qa_approve(actor=staff["supervisor_tsu"], question=question)
    question.refresh_from_db()
    assert question.status == Status.PUBLISHED


def test_the_secretariat_approves(
    in_review: Callable[..., Question], staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    question = in_review()
    client = sign_in(staff["secretariat"])
    response = client.post(reverse("qa:staff_decide", args=[question.pk]), {"action": "approve"})
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.status == Status.PUBLISHED
    assert question.decided_by == staff["secretariat"]


def test_the_secretariat_reads_but_does_not_draft(
    asked: Callable[..., Question], staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    question = asked()
    client = sign_in(staff["secretariat"])
    assert client.get(reverse("qa:staff_detail", args=[question.pk])).status_code == 200
    response = client.post(
        reverse("qa:staff_detail", args=[question.pk]),
        {"category": "friends", "rewrite": "x", "answer": "y", "action": "save"},
    )
    assert response.status_code == 404
    question.refresh_from_db()
    assert question.status == Status.NEW


def test_the_list_shows_no_narrative_and_the_riskiest_first(
    asked: Callable[..., Question], staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    calm = asked("好きな人に話しかけられません。どうしたらいいですか。")
    risky = asked("しにたい。もう消えたい。")
    html = sign_in(staff["listener_tsu"]).get(reverse("qa:staff_list")).content.decode()
    assert calm.body not in html and risky.body not in html
    assert html.index(f"Q{risky.pk}<") < html.index(f"Q{calm.pk}<")
    assert not AuditEntry.objects.filter(action="qa.question_read").exists()
