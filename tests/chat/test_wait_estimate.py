"""The wait a waiting child is told: at the pace chats were answered lately, the same in the
welcome and in every queue push."""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from uketome.chat import selectors
from uketome.chat.models import Conversation, Status
from uketome.core.dates import TOKYO
from uketome.helpline.models import Line, OpeningHours

pytestmark = pytest.mark.django_db


def _line(opens: time, closes: time) -> Line:
    line = Line.objects.create(
        name="チャット", slug="chat-estimate", channels=["chat"], identity_policy="anonymous"
    )
    OpeningHours.objects.bulk_create(
        OpeningHours(line=line, weekday=day, opens=opens, closes=closes) for day in range(7)
    )
    return line


def _chats(line: Line, status: str, times: list[datetime], **fields: Any) -> list[Conversation]:
    return [
        Conversation.objects.create(
            line=line, token_hash=secrets.token_hex(32), status=status, started_at=at, **fields
        )
        for at in times
    ]


def _answered(line: Line, times: list[datetime]) -> None:
    for conversation, at in zip(_chats(line, Status.ENDED, times), times, strict=True):
        Conversation.objects.filter(pk=conversation.pk).update(claimed_at=at)


def _told(line: Line, now: datetime) -> tuple[list[int | None], list[int | None]]:
    """What each waiting child is told in the welcome, and in the next queue push."""
    waiting = Conversation.objects.filter(line=line, status=Status.WAITING).order_by("started_at")
    welcome = [
        selectors.estimate_minutes(line.pk, selectors.queue_position(c), now) for c in waiting
    ]
    positions = selectors.queue_snapshot(now)["positions"]
    pushed = [positions[c.pk]["estimate_minutes"] for c in waiting]
    return welcome, pushed


def test_a_busy_line_tells_the_same_short_wait_in_the_welcome_and_in_the_pushes() -> None:
    now = datetime(2026, 12, 1, 20, 30, tzinfo=TOKYO)
    line = _line(time(9, 0), time(22, 0))
    # 300 chats answered in the last hour: one every 12 seconds.
    _answered(line, [now - timedelta(seconds=12 * n) for n in range(1, 301)])
    _chats(line, Status.WAITING, [now - timedelta(seconds=40 - n) for n in range(30)])

    welcome, pushed = _told(line, now)
    assert welcome == pushed
    assert pushed[0] == 1 and pushed[29] == 6  # 30 x 0.2 minutes, not 30 x 1


def test_just_after_opening_the_pace_counts_from_the_opening_not_a_whole_hour() -> None:
    now = datetime(2026, 12, 1, 16, 10, tzinfo=TOKYO)
    line = _line(time(16, 0), time(21, 0))
    # Opened at 16:00; six chats answered since: one every 100 seconds.
    _answered(line, [now - timedelta(seconds=90 * n) for n in range(6)])
    _chats(line, Status.WAITING, [now - timedelta(seconds=30 - n) for n in range(3)])

    welcome, pushed = _told(line, now)
    assert welcome == pushed == [2, 4, 5]  # 100 s x position, rounded up (not 10, 20, 30)


def test_nobody_answered_lately_means_no_estimate_rather_than_a_guess() -> None:
    now = datetime(2026, 12, 1, 20, 30, tzinfo=TOKYO)
    line = _line(time(9, 0), time(22, 0))
    _answered(line, [now - timedelta(hours=2)])
    _chats(line, Status.WAITING, [now - timedelta(minutes=5)])
    assert _told(line, now) == ([None], [None])
