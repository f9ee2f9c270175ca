"""A question that shows risk: supervisors are alerted at once, and it is never published
as it stands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext as _

from tests.conftest import run_async
from uketome.asgi import application
from uketome.core.models import AuditEntry
from uketome.qa import services
from uketome.qa.models import PublishedAnswer, Question, RiskLevel, Status

RISKY = "もう消えたい。しにたいと毎日思う"


def _headers(client: Client) -> list[tuple[bytes, bytes]]:
    cookie = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    return [(b"cookie", cookie.encode()), (b"origin", b"http://testserver")]


@pytest.mark.django_db(transaction=True)
def test_every_signed_in_supervisor_is_alerted_at_once(
    corner: Any, staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    at_suzuka = sign_in(staff["supervisor_suzuka"])
    at_tsu = sign_in(staff["supervisor_tsu"])

    def child_asks() -> None:
        response = Client().post(reverse("qa:ask"), {"text": RISKY})
        assert response.status_code == 302

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        suzuka = WebsocketCommunicator(
            application, "/ws/staff/alerts/", headers=_headers(at_suzuka)
        )
        tsu = WebsocketCommunicator(application, "/ws/staff/alerts/", headers=_headers(at_tsu))
        assert (await suzuka.connect())[0]
        assert (await tsu.connect())[0]
        await sync_to_async(child_asks)()
        first = await suzuka.receive_json_from(timeout=5)
        second = await tsu.receive_json_from(timeout=5)
        await suzuka.disconnect()
        await tsu.disconnect()
        return first, second

    first, second = run_async(scenario)
    question = Question.objects.get()
    assert question.risk_level in (RiskLevel.HIGH, RiskLevel.URGENT)
    for message in (first, second):
        assert message["event"] == "qa.question_at_risk"
        assert message["question"] == question.pk
        assert message["url"] == reverse("qa:staff_detail", args=[question.pk])
        assert message["line"] == "MIEちゃんに聞いてみよう"
        assert message["rank"] >= 2
        assert RISKY not in str(message)  # the child's words never go out in an alert
    assert AuditEntry.objects.filter(action="qa.risk_alerted", target_id=str(question.pk)).exists()


def test_no_alert_without_risk(
    asked: Callable[..., Question], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        question = asked("好きな人に話しかけられません。どうしたらいいですか。")
    assert question.risk_level == RiskLevel.NONE
    assert callbacks == []


def test_risky_question_waits_for_a_supervisors_review(
    in_review: Callable[..., Question], staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    question = in_review(
        text=RISKY,
        rewrite="つらくて、どうしたらいいかわからないときは、どうしたらいいですか。",
        answer="話してくれてありがとう。ひとりでかかえないで、電話やチャットで話してね。",
        category="feelings",
    )
    assert question.at_risk
    supervisor = sign_in(staff["supervisor_suzuka"])
    refused = supervisor.post(reverse("qa:staff_decide", args=[question.pk]), {"action": "approve"})
    assert refused.status_code == 400
    assert not PublishedAnswer.objects.exists()

    # A listener cannot record the review; a supervisor can.
    listener = sign_in(staff["listener_suzuka"])
    assert (
        listener.post(reverse("qa:staff_risk", args=[question.pk]), {"note": "x"}).status_code
        == 404
    )
    empty = supervisor.post(reverse("qa:staff_risk", args=[question.pk]), {"note": " "})
    assert empty.status_code == 400
    supervisor.post(
        reverse("qa:staff_risk", args=[question.pk]),
        {"note": "チャットの案内を出し、児童相談所と共有した。"},
    )
    question.refresh_from_db()
    assert question.risk_reviewed_by == staff["supervisor_suzuka"]
    supervisor.post(reverse("qa:staff_decide", args=[question.pk]), {"action": "approve"})
    question.refresh_from_db()
    assert question.status == Status.PUBLISHED
    assert PublishedAnswer.objects.get().question_text.startswith("つらくて")


def test_risky_question_is_never_published_as_it_stands(
    in_review: Callable[..., Question], staff: dict[str, Any]
) -> None:
    question = in_review(text=RISKY, rewrite="しにたいと毎日思います。", category="feelings")
    services.qa_risk_review(actor=staff["supervisor_suzuka"], question=question, note="対応済み")
    with pytest.raises(services.QaError) as problem:
        services.qa_approve(actor=staff["supervisor_suzuka"], question=question)
    assert _("The rewrite still shows high risk: it cannot be published as it stands.") in str(
        problem.value
    )
    assert not PublishedAnswer.objects.exists()


def test_the_childs_own_words_are_never_the_published_question(
    asked: Callable[..., Question], staff: dict[str, Any]
) -> None:
    text = "部活の先輩がこわくて、部活に行きたくないです。"
    question = asked(text)
    services.qa_draft_save(
        actor=staff["listener_tsu"],
        question=question,
        category="school",
        rewrite="部活の先輩がこわくて、部活に行きたくない です。",  # only a space added
        answer="こわいね。",
    )
    with pytest.raises(services.QaError):
        services.qa_submit(actor=staff["listener_tsu"], question=question)
