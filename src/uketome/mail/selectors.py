"""Reads of letters, scoped by the permission rules; the child's view of a thread.

Reading a thread's letters writes an audit entry; a thread one may not see answers "not
found" (audited too). ``letters_for_child`` is the one place that decides what a child
sees: their own letters and approved replies, never a draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from uketome.core.audit import audit_record
from uketome.core.permissions import approve_reply, view_letters
from uketome.mail.models import (
    Author,
    Letter,
    LetterThread,
    MailSettings,
    ReplyState,
    ThreadStatus,
)
from uketome.mail.services import reply_due


def threads_visible_to(user: Any) -> QuerySet[LetterThread]:
    return view_letters.filter(user, LetterThread.objects.all())


@dataclass(frozen=True)
class QueueRow:
    thread: LetterThread
    due_at: datetime | None
    overdue: bool
    reply_state: str


def _rows(threads: QuerySet[LetterThread], now: datetime) -> list[QueueRow]:
    rows = []
    open_states = {
        letter.thread_id: letter.state
        for letter in Letter.objects.filter(
            thread__in=[t.pk for t in threads],
            author=Author.STAFF,
            state__in=[ReplyState.DRAFT, ReplyState.SUBMITTED, ReplyState.RETURNED],
        ).only("thread_id", "state")
    }
    for thread in threads:
        due = reply_due(thread.line, thread.waiting_since)
        rows.append(
            QueueRow(
                thread=thread,
                due_at=due,
                overdue=due is not None and now > due,
                reply_state=open_states.get(thread.pk, ""),
            )
        )
    return rows


def waiting_queue(user: Any, now: datetime, *, limit: int = 200) -> list[QueueRow]:
    """Letters waiting for a reply, highest risk first, then the longest waiting."""
    threads = (
        threads_visible_to(user)
        .filter(status=ThreadStatus.WAITING)
        .select_related("line", "age_band", "gender", "risk_level", "claimed_by", "site")
        .defer("notify_address")
        .order_by("-risk_rank", "waiting_since", "id")[:limit]
    )
    return _rows(threads, now)


def my_threads(user: Any, now: datetime) -> list[QueueRow]:
    """Threads the user took and has not finished."""
    if not getattr(user, "is_authenticated", False):
        return []
    threads = (
        threads_visible_to(user)
        .filter(claimed_by=user)
        .exclude(status=ThreadStatus.CLOSED)
        .select_related("line", "age_band", "gender", "risk_level", "claimed_by", "site")
        .defer("notify_address")
        .order_by("-risk_rank", "waiting_since", "id")
    )
    return _rows(threads, now)


def replies_to_approve(user: Any) -> QuerySet[LetterThread]:
    """Threads with a reply waiting for the user's approval (not their own reply)."""
    if not approve_reply.test(user, None):
        return LetterThread.objects.none()
    submitted = Letter.objects.filter(thread=OuterRef("pk"), state=ReplyState.SUBMITTED).exclude(
        drafted_by=user
    )
    return (
        approve_reply.filter(user, LetterThread.objects.all())
        .filter(Exists(submitted))
        .select_related("line", "risk_level", "claimed_by")
        .defer("notify_address")
        .order_by("-risk_rank", "updated_at")
    )


def lines_answered_nowhere() -> list[str]:
    """Children's mail lines whose letters no site answers yet (so no listener sees them)."""
    from uketome.mail.services import mail_lines

    answered = set(
        MailSettings.sites.through.objects.values_list("mailsettings__line_id", flat=True)
    )
    return [line.name for line in mail_lines() if line.pk not in answered]


def taken_by_someone_else(user: Any, pk: int) -> bool:
    """Whether ``pk`` is a letter the user answers for that another person took (so a
    listener who clicked a moment too late is told so, instead of "not found")."""
    from uketome.accounts.roles import Role
    from uketome.core.permissions import answers_line_at_own_site

    thread = LetterThread.objects.filter(pk=pk, claimed_by__isnull=False).only("line_id").first()
    return thread is not None and answers_line_at_own_site(
        Role.LISTENER, Role.SUPPORTER, Role.SUPERVISOR
    ).test(user, thread)


def thread_for_reading(user: Any, pk: int, *, reason: str = "") -> LetterThread:
    """A thread with its letters, for someone allowed to read it (audited); else 404."""
    thread = (
        threads_visible_to(user)
        .select_related(
            "line",
            "age_band",
            "gender",
            "risk_level",
            "claimed_by",
            "site",
            "closed_by",
            "taxonomy",
        )
        .filter(pk=pk)
        .first()
    )
    if thread is None:
        audit_record(actor=user, action="letter.read_denied", data={"thread": pk}, reason=reason)
        raise Http404
    audit_record(actor=user, action="letter.read", target=thread, reason=reason)
    return thread


def letters_for_staff(thread: LetterThread) -> list[Letter]:
    return list(
        thread.letters.select_related("risk_level", "drafted_by", "reviewed_by").order_by(
            "created_at", "id"
        )
    )


def letters_for_child(thread: LetterThread) -> list[Letter]:
    """What the child sees: their own letters and the approved replies, in the order they
    could first see them. Drafts, replies waiting for approval or returned never."""
    letters = list(
        Letter.objects.filter(thread=thread).filter(
            Q(author=Author.CHILD) | Q(author=Author.STAFF, state=ReplyState.APPROVED)
        )
    )
    return sorted(letters, key=lambda letter: (letter.shown_at, letter.pk))
