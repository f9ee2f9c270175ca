"""The chat and letter figures, from the chat and mail apps' own records, by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from uketome.chat.models import Conversation, EndReason, Status
from uketome.core.dates import TOKYO
from uketome.helpline.models import Line
from uketome.helpline.taxonomy import current_version
from uketome.mail.models import Author, Letter, LetterThread, ReplyState, ThreadStatus
from uketome.stats.sources import Period, chat_waiting_times, mail_reply_times

YEAR = Period(datetime(2025, 4, 1, tzinfo=TOKYO), datetime(2026, 4, 1, tzinfo=TOKYO))


def _line(slug: str, channel: str, **extra: Any) -> Line:
    return Line.objects.create(
        name=slug, slug=slug, identity_policy="anonymous", channels=[channel], **extra
    )


def test_chat_requests_handled_gave_up_and_waiting_times(db: Any) -> None:
    line = _line("c", "chat")
    at = datetime(2025, 6, 1, 20, 0, tzinfo=TOKYO)

    def chat(n: int, wait: int | None, reason: str = "", started: datetime = at) -> None:
        claimed = started + timedelta(seconds=wait) if wait is not None else None
        Conversation.objects.create(
            line=line,
            token_hash=f"{n:064d}",
            status=Status.ENDED,
            started_at=started,
            claimed_at=claimed,
            ended_at=(claimed or started) + timedelta(minutes=3),
            end_reason=reason or EndReason.LISTENER,
        )

    chat(1, 30)  # under a minute
    chat(2, 4 * 60)  # 1-5 minutes
    chat(3, 7 * 60)  # 5-10
    chat(4, 45 * 60)  # 30 or more
    chat(5, None, EndReason.LEFT)  # gave up after 3 minutes
    chat(6, None, EndReason.CHILD)  # gave up
    chat(7, None, EndReason.CLOSING)  # not handled, not given up: closing time
    chat(8, 10, started=datetime(2025, 3, 31, 23, 59, tzinfo=TOKYO))  # the year before
    figures = chat_waiting_times(YEAR)
    assert figures is not None
    assert (figures.requests, figures.handled, figures.gave_up) == (7, 4, 2)
    assert [n for _band, n in figures.waiting.bands] == [1, 1, 1, 0, 1]
    assert [n for _band, n in figures.gave_up_after.bands] == [0, 2, 0, 0, 0]
    other = _line("c2", "chat")
    assert chat_waiting_times(Period(YEAR.start, YEAR.end, line_id=other.pk)) == chat_waiting_times(
        Period(YEAR.start, YEAR.start)
    )


def test_letters_received_replied_reply_times_and_over_target(db: Any) -> None:
    line = _line("m", "mail", reply_target_hours=72)
    version = current_version()
    at = datetime(2025, 9, 1, 10, 0, tzinfo=TOKYO)

    def thread(n: int) -> LetterThread:
        return LetterThread.objects.create(
            line=line,
            number=f"{n:08d}",
            secret_hash="x",
            status=ThreadStatus.ANSWERED,
            taxonomy=version,
        )

    def letter(t: LetterThread, written: datetime) -> None:
        Letter.objects.filter(
            pk=Letter.objects.create(thread=t, author=Author.CHILD, body="x").pk
        ).update(created_at=written)

    def reply(t: LetterThread, approved: datetime) -> None:
        Letter.objects.create(
            thread=t,
            author=Author.STAFF,
            body="y",
            state=ReplyState.APPROVED,
            approved_at=approved,
        )

    quick, slow, unanswered, twice = thread(1), thread(2), thread(3), thread(4)
    letter(quick, at)
    reply(quick, at + timedelta(hours=20))  # within a day
    letter(slow, at)
    reply(slow, at + timedelta(days=4))  # 3-7 days, over the 72-hour target
    letter(unanswered, at)
    letter(twice, at)
    reply(twice, at + timedelta(days=2))  # 1-3 days
    letter(twice, at + timedelta(days=3))  # written again, not answered yet
    figures = mail_reply_times(YEAR)
    assert figures is not None
    assert (figures.received, figures.replied, figures.over_target) == (5, 3, 1)
    assert [n for _band, n in figures.reply_time.bands] == [1, 1, 1, 0]
