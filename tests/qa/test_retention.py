"""Retention: the child's words of finished questions are removed after the corner line's
retention period; the published texts stay."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from uketome.core.models import AuditEntry
from uketome.qa import services
from uketome.qa.models import PersonalDataFlag, Question


def test_finished_questions_lose_the_childs_words_after_the_period(
    in_review: Callable[..., Question],
    corner: Any,
    staff: dict[str, Any],
    sign_in: Callable[..., Client],
) -> None:
    flagged = in_review(rewrite="鈴木さんみたいに、ともだちをつくりたいです。")
    supervisor = staff["supervisor_suzuka"]
    services.qa_flag_dismiss(actor=supervisor, flag=flagged.flags.get())
    item = services.qa_approve(actor=supervisor, question=flagged)
    open_one = in_review(rewrite="まだ審査中のしつもんです。")
    corner.retention_days = 30
    corner.save()
    assert services.qa_retention_run(now=timezone.now() + timedelta(days=29)) == 0

    removed = services.qa_retention_run(now=timezone.now() + timedelta(days=31))
    assert removed == 1
    question = Question.objects.get(pk=item.question_id)
    assert question.body is None and question.narrative_removed_at is not None
    assert not PersonalDataFlag.objects.filter(question=question).exists()
    open_one.refresh_from_db()
    assert open_one.body  # still being worked on: kept
    item.refresh_from_db()
    assert item.question_text.startswith("鈴木さんみたいに")  # public text stays
    assert AuditEntry.objects.filter(action="qa.retention_run").count() == 2
    page = sign_in(staff["listener_tsu"]).get(reverse("qa:staff_detail", args=[question.pk]))
    assert page.status_code == 200
    assert services.qa_retention_run(now=timezone.now() + timedelta(days=31)) == 0
