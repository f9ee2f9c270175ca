"""Reads of the Q&A corner.

Public pages read ``PublishedAnswer`` only: nothing that was not approved exists there.
Staff reads of a question (the child's words, the draft) go through
``question_for_reading``, which audits every read and every refused one (answered 404).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from uketome.core.audit import audit_record
from uketome.core.permissions import view_qa_question
from uketome.core.text import normalize, search_key
from uketome.qa.models import Category, PublishedAnswer, Question, Status

#: The most words of a search that are used (each must match).
MAX_TERMS = 10
#: The most items a list or a search shows.
PAGE_SIZE = 30


# --- Public -----------------------------------------------------------------------------


def published() -> QuerySet[PublishedAnswer]:
    return PublishedAnswer.objects.all()


def search_terms(query: str) -> list[str]:
    keys: list[str] = []
    for word in normalize(query).split(" "):
        key = search_key(word)
        if key and key not in keys:
            keys.append(key)
    return keys[:MAX_TERMS]


@dataclass(frozen=True)
class Listing:
    items: list[PublishedAnswer] = field(default_factory=list)
    more: bool = False
    unknown_category: bool = False


def published_listing(*, query: str = "", category: str = "", order: str = "new") -> Listing:
    """Published Q&As matching every word of ``query`` (kana and width folded, same on
    SQLite and PostgreSQL) in ``category``, newest or most read first."""
    if category and category not in Category.values:
        return Listing(unknown_category=True)
    queryset = published()
    for key in search_terms(query):
        queryset = queryset.filter(search__contains=key)
    if category:
        queryset = queryset.filter(category=category)
    ordering = (
        ["-view_count", "-published_at", "-id"] if order == "popular" else ["-published_at", "-id"]
    )
    rows = list(queryset.order_by(*ordering)[: PAGE_SIZE + 1])
    return Listing(items=rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE)


def newest(limit: int = 5) -> list[PublishedAnswer]:
    return list(published().order_by("-published_at", "-id")[:limit])


def most_read(limit: int = 5) -> list[PublishedAnswer]:
    return list(published().order_by("-view_count", "-published_at", "-id")[:limit])


def categories_in_use() -> list[Category]:
    used = set(published().values_list("category", flat=True).distinct())
    return [c for c in Category if c.value in used]


def published_one(pk: int) -> PublishedAnswer:
    item = published().filter(pk=pk).first()
    if item is None:
        raise Http404
    return item


def related(item: PublishedAnswer, limit: int = 3) -> list[PublishedAnswer]:
    return list(
        published()
        .filter(category=item.category)
        .exclude(pk=item.pk)
        .order_by("-published_at", "-id")[:limit]
    )


# --- Staff ------------------------------------------------------------------------------


def questions_visible_to(user: Any) -> QuerySet[Question]:
    return view_qa_question.filter(user, Question.objects.all())


QUEUES = {
    "todo": (Status.NEW, Status.DRAFT, Status.RETURNED),
    "review": (Status.REVIEW,),
    "published": (Status.PUBLISHED,),
    "closed": (Status.CLOSED,),
}


def question_queue(user: Any, queue: str) -> QuerySet[Question]:
    """Questions of one queue, the riskiest first, then the oldest. No narrative is
    decrypted for a list (``only`` the statistical fields)."""
    statuses = QUEUES.get(queue, QUEUES["todo"])
    return (
        questions_visible_to(user)
        .filter(status__in=statuses)
        .only(
            "id",
            "status",
            "received_at",
            "risk_level",
            "risk_rank",
            "risk_reviewed_at",
            "category",
            "drafted_by",
            "drafted_at",
        )
        .select_related("drafted_by")
        .order_by("-risk_rank", "received_at", "id")
    )


def question_for_reading(user: Any, pk: int, *, reason: str = "") -> Question:
    """The question with the child's words and the draft, for someone allowed (audited).

    Not visible or not there: Http404 either way, and the attempt is audited.
    """
    question = (
        questions_visible_to(user)
        .select_related("drafted_by", "decided_by", "risk_reviewed_by")
        .filter(pk=pk)
        .first()
    )
    if question is None:
        audit_record(
            actor=user, action="qa.question_read_denied", data={"question": pk}, reason=reason
        )
        raise Http404
    audit_record(actor=user, action="qa.question_read", target=question, reason=reason)
    return question
