"""Writes on the Q&A corner: a child asks, a listener drafts, an approver publishes.

    question_receive      a child's question (risk assessed; at high/urgent the
                          supervisors are alerted at once)
    qa_draft_save         the listener's category, anonymised rewrite and answer; the
                          personal-data check runs on every save
    qa_submit             the draft goes to the approvers
    qa_flag_dismiss       an approver marks a flag "not personal" (audited)
    qa_risk_review        a supervisor records what was done about a risky question
    qa_approve            the approver publishes (only with no open flag, a rewrite that is
                          not the child's text, and - for a risky question - a recorded
                          review and a rewrite that shows no risk of its own)
    qa_return             back to the listener with a comment
    qa_close              not to be published (spam, handled privately)
    qa_unpublish          take a published item off the public pages
    published_view_count  one more view (stores nothing about the reader)
    qa_retention_run      remove the child's words of finished questions after the
                          corner line's retention period

Permission checks are the views' (``core.permissions``); the services keep the rules that
hold whoever acts. Each write is audited; alerts are published on commit.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from uketome.core.audit import audit_record
from uketome.core.events import publish_on_commit, site_supervisors_group
from uketome.core.text import search_key
from uketome.qa import pii
from uketome.qa.models import (
    ALERT_LEVELS,
    RISK_RANK,
    Category,
    FlagState,
    PersonalDataFlag,
    PublishedAnswer,
    Question,
    RiskLevel,
    Status,
)

#: Limits on a child's question (characters, after trimming).
QUESTION_MIN = 5
QUESTION_MAX = 400
#: Limits on the published texts.
REWRITE_MAX = 400
ANSWER_MAX = 2000

EDITABLE = frozenset({Status.NEW, Status.DRAFT, Status.RETURNED})
DRAFT_FIELDS = ("rewrite", "answer")


def not_a_rewrite() -> str:
    """Why a rewrite that is the child's own text is refused."""
    message = _(
        "The published question must be a rewrite: the child's own words are not published."
    )
    return message


class QaError(ValueError):
    """A step that cannot be taken as asked; ``field`` names the form field if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Risk:
    level: str
    score: int
    categories: tuple[str, ...]
    alert: bool


def assess_risk(text: str) -> Risk:
    """The risk triage's view of ``text`` (``uketome.triage.assess``)."""
    from uketome.triage import assess

    result = assess(text)
    level = str(result.level)
    if level not in RiskLevel.values:
        level = RiskLevel.WATCH  # an unknown level is never treated as no risk
    return Risk(
        level=level,
        score=int(result.score),
        categories=tuple(str(c) for c in result.categories),
        alert=bool(result.alert) or level in ALERT_LEVELS,
    )


def clean_text(value: str) -> str:
    """Text as stored: no control characters (line breaks kept), ends trimmed."""
    kept = (
        ch
        for ch in value.replace("\r\n", "\n").replace("\r", "\n")
        if ch in "\n\t" or not unicodedata.category(ch).startswith("C")
    )
    return "".join(kept).strip()


def corner_name() -> str:
    """The corner's name: the active children's line with the Q&A channel (e.g.
    MIEちゃんに聞いてみよう), or a generic name."""
    from uketome.helpline.models import Audience, Channel, Line

    for line in Line.objects.filter(active=True, audience=Audience.CHILDREN).only(
        "name", "channels"
    ):
        if Channel.QA in (line.channels or []):
            return line.name
    return _("Ask us")


def question_receive(*, text: str, category_hint: str = "") -> Question:
    """Store a child's question. Raises ``QaError`` for an empty, too short or too long
    question. At high or urgent risk the supervisors are alerted after commit."""
    body = clean_text(text)
    if not body:
        raise QaError(_("Please write your question."), "text")
    if len(body) < QUESTION_MIN:
        raise QaError(_("Please write a little more."), "text")
    if len(body) > QUESTION_MAX:
        raise QaError(
            _("Your question is too long. Please make it %(max)d characters or fewer.")
            % {"max": QUESTION_MAX},
            "text",
        )
    if category_hint not in Category.values:
        category_hint = ""
    risk = assess_risk(body)
    now = timezone.now()
    with transaction.atomic():
        question = Question.objects.create(
            body=body,
            category_hint=category_hint,
            category=category_hint,
            received_at=now,
            risk_level=risk.level,
            risk_rank=RISK_RANK[RiskLevel(risk.level)],
            risk_score=risk.score,
            risk_categories=list(risk.categories),
        )
        audit_record(
            actor=None,
            action="qa.question_received",
            target=question,
            data={"risk": risk.level, "length": len(body)},
        )
        if risk.alert:
            _alert_supervisors(question)
    return question


def _alert_supervisors(question: Question) -> None:
    """Tell every signed-in supervisor at once: the same shape as a contact's
    ``escalation.raised`` (risk, rank, line, site) with the question's staff page."""
    from django.urls import reverse

    audit_record(
        actor=None,
        action="qa.risk_alerted",
        target=question,
        data={"risk": question.risk_level, "categories": question.risk_categories},
    )
    with override("ja"):
        label = str(RiskLevel(question.risk_level).label)
        line = corner_name()
    publish_on_commit(
        site_supervisors_group(None),
        "qa.question_at_risk",
        {
            "question": question.pk,
            "risk": label,
            "rank": question.risk_rank,
            "line": line,
            "site": "",
            "url": reverse("qa:staff_detail", args=[question.pk]),
        },
    )


def _check_open(question: Question) -> None:
    if question.status not in EDITABLE:
        raise QaError(_("This question can no longer be edited."))


def _refresh_flags(question: Question) -> list[PersonalDataFlag]:
    """Run the personal-data check on the draft. Flags whose words are gone are removed,
    new findings are added as open flags, flags already marked "not personal" stay so."""
    wanted: list[tuple[str, str, str]] = []
    for field in DRAFT_FIELDS:
        for finding in pii.find_personal_data(getattr(question, field) or ""):
            wanted.append((field, finding.kind, finding.text))
    existing = list(question.flags.all())
    keep: set[int] = set()
    for flag in existing:
        key = (flag.field, flag.kind, flag.found)
        if key in wanted:
            keep.add(flag.pk)
            wanted.remove(key)
    PersonalDataFlag.objects.filter(question=question).exclude(pk__in=keep).delete()
    PersonalDataFlag.objects.bulk_create(
        PersonalDataFlag(question=question, field=field, kind=kind, found=found)
        for field, kind, found in dict.fromkeys(wanted)
    )
    return list(question.flags.all())


@transaction.atomic
def qa_draft_save(
    *, actor: Any, question: Question, category: str, rewrite: str, answer: str
) -> list[PersonalDataFlag]:
    """Save the listener's draft and check it for personal data. Returns the flags."""
    question = Question.objects.select_for_update().get(pk=question.pk)
    _check_open(question)
    rewrite, answer = clean_text(rewrite), clean_text(answer)
    if category and category not in Category.values:
        raise QaError(_("Choose a category from the list."), "category")
    if len(rewrite) > REWRITE_MAX:
        raise QaError(
            _("The question may have at most %(max)d characters.") % {"max": REWRITE_MAX},
            "rewrite",
        )
    if len(answer) > ANSWER_MAX:
        raise QaError(
            _("The answer may have at most %(max)d characters.") % {"max": ANSWER_MAX}, "answer"
        )
    question.category = category
    question.rewrite = rewrite or None
    question.answer = answer or None
    question.drafted_by = actor
    question.drafted_at = timezone.now()
    if question.status == Status.NEW:
        question.status = Status.DRAFT
    question.save()
    flags = _refresh_flags(question)
    audit_record(
        actor=actor,
        action="qa.draft_saved",
        target=question,
        data={"open_flags": sum(1 for f in flags if f.state == FlagState.OPEN)},
    )
    return flags


def _same_as_child(question: Question) -> bool:
    return search_key(question.rewrite or "") == search_key(question.body or "")


def publish_blockers(question: Question) -> list[str]:
    """Why ``question`` cannot be published now (empty: it can)."""
    reasons: list[str] = []
    if not question.category:
        reasons.append(_("Choose a category."))
    if not (question.rewrite or "").strip():
        reasons.append(_("Write the question as it will be published."))
    elif _same_as_child(question):
        reasons.append(not_a_rewrite())
    if not (question.answer or "").strip():
        reasons.append(_("Write the answer."))
    open_flags = question.flags.filter(state=FlagState.OPEN).count()
    if open_flags:
        reasons.append(
            _("Resolve the personal-data flags first (%(count)d open).") % {"count": open_flags}
        )
    if question.at_risk:
        if question.risk_reviewed_at is None:
            reasons.append(
                _("This question showed risk: a supervisor must record what was done first.")
            )
        if (question.rewrite or "").strip() and assess_risk(question.rewrite or "").alert:
            reasons.append(
                _("The rewrite still shows high risk: it cannot be published as it stands.")
            )
    return reasons


@transaction.atomic
def qa_submit(*, actor: Any, question: Question) -> Question:
    """Send the draft to the approvers. The draft must be complete (flags may still be
    open: the approver resolves them)."""
    question = Question.objects.select_for_update().get(pk=question.pk)
    _check_open(question)
    if not question.category or not question.rewrite or not question.answer:
        raise QaError(_("Fill in the category, the question and the answer first."))
    if _same_as_child(question):
        raise QaError(
            not_a_rewrite(),
            "rewrite",
        )
    question.status = Status.REVIEW
    question.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="qa.submitted", target=question)
    return question


@transaction.atomic
def qa_flag_dismiss(*, actor: Any, flag: PersonalDataFlag, reason: str = "") -> PersonalDataFlag:
    """An approver marks a flag "not personal" (e.g. a famous person, a public place)."""
    flag = PersonalDataFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.state != FlagState.OPEN:
        return flag
    flag.state = FlagState.NOT_PERSONAL
    flag.resolved_by = actor
    flag.resolved_at = timezone.now()
    flag.save(update_fields=["state", "resolved_by", "resolved_at"])
    audit_record(
        actor=actor,
        action="qa.flag_marked_not_personal",
        target=flag.question,
        reason=reason[:500],
        data={"flag": flag.pk, "field": flag.field, "kind": flag.kind},
    )
    return flag


@transaction.atomic
def qa_risk_review(*, actor: Any, question: Question, note: str) -> Question:
    """A supervisor records what was done about a risky question."""
    note = clean_text(note)
    if not note:
        raise QaError(_("Write what was done."), "note")
    question = Question.objects.select_for_update().get(pk=question.pk)
    question.risk_reviewed_by = actor
    question.risk_reviewed_at = timezone.now()
    question.risk_note = note
    question.save(update_fields=["risk_reviewed_by", "risk_reviewed_at", "risk_note"])
    audit_record(actor=actor, action="qa.risk_reviewed", target=question)
    return question


def _check_not_own(actor: Any, question: Question) -> None:
    if actor is not None and question.drafted_by_id == getattr(actor, "pk", None):
        raise QaError(_("Someone else must approve an answer you drafted."))


def published_search_key(*, question_text: str, answer_text: str, category: str) -> str:
    """One line per part, so a search never matches across two parts."""
    with override("ja"):
        label = str(Category(category).label)
    parts = (search_key(p) for p in (question_text, answer_text, label))
    return "\n".join(p for p in parts if p)


@transaction.atomic
def qa_approve(*, actor: Any, question: Question) -> PublishedAnswer:
    """Publish the rewrite and the answer. Raises ``QaError`` with every reason it cannot."""
    question = Question.objects.select_for_update().get(pk=question.pk)
    if question.status != Status.REVIEW:
        raise QaError(_("Only an answer waiting for approval can be published."))
    _check_not_own(actor, question)
    # The check runs again on the texts as they are now.
    _refresh_flags(question)
    reasons = publish_blockers(question)
    if reasons:
        raise QaError(" ".join(reasons))
    now = timezone.now()
    question_text, answer_text = question.rewrite or "", question.answer or ""
    published = PublishedAnswer.objects.create(
        question=question,
        category=question.category,
        question_text=question_text,
        answer_text=answer_text,
        published_at=now,
        approved_by=actor,
        search=published_search_key(
            question_text=question_text, answer_text=answer_text, category=question.category
        ),
    )
    question.status = Status.PUBLISHED
    question.decided_by = actor
    question.decided_at = now
    question.review_comment = None
    question.save(update_fields=["status", "decided_by", "decided_at", "review_comment"])
    audit_record(
        actor=actor, action="qa.published", target=question, data={"published": published.pk}
    )
    return published


@transaction.atomic
def qa_return(*, actor: Any, question: Question, comment: str) -> Question:
    """Back to the listener, with what to change."""
    comment = clean_text(comment)
    if not comment:
        raise QaError(_("Write what should change."), "comment")
    question = Question.objects.select_for_update().get(pk=question.pk)
    if question.status != Status.REVIEW:
        raise QaError(_("Only an answer waiting for approval can be returned."))
    question.status = Status.RETURNED
    question.review_comment = comment
    question.decided_by = actor
    question.decided_at = timezone.now()
    question.save(update_fields=["status", "review_comment", "decided_by", "decided_at"])
    audit_record(actor=actor, action="qa.returned", target=question)
    return question


@transaction.atomic
def qa_close(*, actor: Any, question: Question, reason: str = "") -> Question:
    """Not to be published (spam, a question answered privately, ...)."""
    question = Question.objects.select_for_update().get(pk=question.pk)
    if question.status == Status.PUBLISHED:
        raise QaError(_("Take it off the public pages first."))
    question.status = Status.CLOSED
    question.decided_by = actor
    question.decided_at = timezone.now()
    question.save(update_fields=["status", "decided_by", "decided_at"])
    audit_record(actor=actor, action="qa.closed", target=question, reason=reason[:500])
    return question


@transaction.atomic
def qa_unpublish(*, actor: Any, question: Question, reason: str = "") -> Question:
    """Take a published item off the public pages (the question goes back to review)."""
    question = Question.objects.select_for_update().get(pk=question.pk)
    if question.status != Status.PUBLISHED:
        raise QaError(_("This question is not published."))
    PublishedAnswer.objects.filter(question=question).delete()
    question.status = Status.REVIEW
    question.save(update_fields=["status"])
    audit_record(actor=actor, action="qa.unpublished", target=question, reason=reason[:500])
    return question


def published_view_count(*, published: PublishedAnswer) -> None:
    """Count one view: a single UPDATE, nothing about the reader."""
    PublishedAnswer.objects.filter(pk=published.pk).update(view_count=F("view_count") + 1)


#: Days the child's words of a finished question are kept when no Q&A line says otherwise.
DEFAULT_RETENTION_DAYS = 365


def _retention_days() -> int:
    from uketome.helpline.models import Audience, Channel, Line

    for line in Line.objects.filter(active=True, audience=Audience.CHILDREN):
        if Channel.QA in (line.channels or []):
            return int(line.retention_days)
    return DEFAULT_RETENTION_DAYS


def qa_retention_run(*, actor: Any = None, now: datetime | None = None) -> int:
    """Remove the narrative of finished (published or closed) questions received more
    than the corner line's ``retention_days`` ago: the child's words, the notes and the
    flags' words. A published item keeps its public texts. Audited; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=_retention_days())
    due = Question.objects.filter(
        status__in=(Status.PUBLISHED, Status.CLOSED),
        received_at__lt=cutoff,
        narrative_removed_at__isnull=True,
    )
    with transaction.atomic():
        ids = list(due.values_list("pk", flat=True))
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            PersonalDataFlag.objects.filter(question_id__in=chunk).delete()
            Question.objects.filter(pk__in=chunk).update(
                body=None, risk_note=None, review_comment=None, narrative_removed_at=now
            )
            Question.objects.filter(pk__in=chunk, status=Status.CLOSED).update(
                rewrite=None, answer=None
            )
        audit_record(actor=actor, action="qa.retention_run", data={"removed": len(ids)})
    return len(ids)
