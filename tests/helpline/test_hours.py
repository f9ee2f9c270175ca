"""open_now / next_opening across midnight, closures and the time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest

from uketome.core.dates import TOKYO
from uketome.helpline.hours import closes_at, next_opening, open_now
from uketome.helpline.models import AnnualClosure, Closure, Line, OpeningHours


def _line(slug: str, hours: list[tuple[int, str, str]], **kwargs: Any) -> Line:
    line = Line.objects.create(name=slug, slug=slug, identity_policy="anonymous", **kwargs)
    for day, opens, closes in hours:
        OpeningHours.objects.create(
            line=line,
            weekday=day,
            opens=time.fromisoformat(opens),
            closes=time.fromisoformat(closes),
        )
    return line


def tokyo(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO)  # type: ignore[misc]


@pytest.fixture
def childline(db: Any) -> Line:
    line = _line("childline", [(d, "16:00", "21:00") for d in range(7)])
    AnnualClosure.objects.create(line=line, from_month=12, from_day=29, to_month=1, to_day=3)
    return line


def test_open_inside_hours_and_closed_at_the_edges(childline: Line) -> None:
    assert not open_now(childline, tokyo(2026, 11, 26, 15, 59))
    assert open_now(childline, tokyo(2026, 11, 26, 16, 0))
    assert open_now(childline, tokyo(2026, 11, 26, 20, 59))
    assert not open_now(childline, tokyo(2026, 11, 26, 21, 0))
    assert closes_at(childline, tokyo(2026, 11, 26, 20, 55)) == tokyo(2026, 11, 26, 21, 0)


def test_next_opening_today_or_tomorrow(childline: Line) -> None:
    assert next_opening(childline, tokyo(2026, 11, 26, 10, 0)) == tokyo(2026, 11, 26, 16, 0)
    assert next_opening(childline, tokyo(2026, 11, 26, 21, 30)) == tokyo(2026, 11, 27, 16, 0)
    # While open, the next opening is tomorrow's.
    assert next_opening(childline, tokyo(2026, 11, 26, 17, 0)) == tokyo(2026, 11, 27, 16, 0)


def test_time_zone_is_tokyo_whatever_the_input(childline: Line) -> None:
    # 07:30 UTC is 16:30 in Tokyo: open. 12:30 UTC is 21:30 in Tokyo: closed.
    assert open_now(childline, datetime(2026, 11, 26, 7, 30, tzinfo=UTC))
    assert not open_now(childline, datetime(2026, 11, 26, 12, 30, tzinfo=UTC))
    assert next_opening(childline, datetime(2026, 11, 26, 12, 30, tzinfo=UTC)) == tokyo(
        2026, 11, 27, 16, 0
    )


def test_year_end_closure_across_the_new_year(childline: Line) -> None:
    assert open_now(childline, tokyo(2026, 12, 28, 20, 0))
    for day in (29, 30, 31):
        assert not open_now(childline, tokyo(2026, 12, day, 17, 0))
    for day in (1, 2, 3):
        assert not open_now(childline, tokyo(2027, 1, day, 17, 0))
    assert next_opening(childline, tokyo(2026, 12, 28, 22, 0)) == tokyo(2027, 1, 4, 16, 0)
    assert open_now(childline, tokyo(2027, 1, 4, 16, 0))


def test_hours_past_midnight(db: Any) -> None:
    night = _line("night", [(4, "22:00", "02:00")])  # Friday 22:00 to Saturday 02:00
    friday, saturday = (2026, 11, 27), (2026, 11, 28)
    assert open_now(night, tokyo(*friday, 23, 0))
    assert open_now(night, tokyo(*saturday, 1, 59))
    assert not open_now(night, tokyo(*saturday, 2, 0))
    assert closes_at(night, tokyo(*friday, 23, 0)) == tokyo(*saturday, 2, 0)
    assert next_opening(night, tokyo(*saturday, 3, 0)) == tokyo(2026, 12, 4, 22, 0)


def test_one_off_staff_shortage_closure_splits_a_period(childline: Line) -> None:
    Closure.objects.create(
        line=childline,
        starts_at=tokyo(2026, 11, 26, 16, 0),
        ends_at=tokyo(2026, 11, 26, 18, 0),
        reason="staff_shortage",
    )
    assert not open_now(childline, tokyo(2026, 11, 26, 17, 0))
    assert next_opening(childline, tokyo(2026, 11, 26, 15, 0)) == tokyo(2026, 11, 26, 18, 0)
    assert open_now(childline, tokyo(2026, 11, 26, 18, 30))


def test_always_open_line(db: Any) -> None:
    mail = _line("mail", [], always_open=True)
    assert open_now(mail, tokyo(2026, 11, 26, 3, 0))
    assert next_opening(mail, tokyo(2026, 11, 26, 3, 0)) is None


def test_weekly_line_finds_next_saturday(db: Any) -> None:
    chat = _line("chat", [(5, "19:00", "21:00")])
    assert next_opening(chat, tokyo(2026, 11, 26, 12, 0)) == tokyo(2026, 11, 28, 19, 0)
    assert not open_now(chat, tokyo(2026, 11, 26, 20, 0))
