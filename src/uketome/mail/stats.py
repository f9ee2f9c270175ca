"""The letter figures of the statistics and the annual report (``stats.sources``).

Received: the children's letters written in the period. Replied: those answered by an
approved reply (the first one after the letter); its reply time runs from the letter to
the approval, the moment the child can read it. Over target: later than the line's reply
target.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from uketome.mail.models import Author, Letter, ReplyState
from uketome.stats.sources import MailReplies, Period, banded


def _bands() -> list[tuple[str, timedelta]]:
    return [
        (_("within 1 day"), timedelta(days=1)),
        (_("1 to 3 days"), timedelta(days=3)),
        (_("3 to 7 days"), timedelta(days=7)),
        (_("7 days or more"), timedelta.max),
    ]


def reply_times(period: Period) -> MailReplies:
    letters = Letter.objects.filter(
        author=Author.CHILD, created_at__gte=period.start, created_at__lt=period.end
    )
    if period.line_id:
        letters = letters.filter(thread__line_id=period.line_id)
    if period.site_id:
        letters = letters.filter(thread__site_id=period.site_id)
    received = list(
        letters.values_list("thread_id", "created_at", "thread__line__reply_target_hours")
    )
    approved: dict[int, list[datetime]] = {}
    for thread_id, at in (
        Letter.objects.filter(
            thread_id__in={thread for thread, _at, _target in received},
            state=ReplyState.APPROVED,
        )
        .order_by("approved_at")
        .values_list("thread_id", "approved_at")
    ):
        if at is not None:
            approved.setdefault(thread_id, []).append(at)
    took_each: list[timedelta] = []
    over_target = 0
    for thread_id, written, target_hours in received:
        replies = approved.get(thread_id, [])
        index = bisect_right(replies, written)
        if index == len(replies):
            continue
        took = replies[index] - written
        took_each.append(took)
        if target_hours and took > timedelta(hours=target_hours):
            over_target += 1
    return MailReplies(
        received=len(received),
        replied=len(took_each),
        reply_time=banded(took_each, _bands()),
        over_target=over_target,
    )
