"""When a line is open: weekly hours, minus yearly and one-off closures, in Asia/Tokyo.

    open_now(line, at)      -> bool
    closes_at(line, at)     -> when the current open period ends (None if closed)
    next_opening(line, at)  -> the next moment after ``at`` when the line opens

Periods that run past midnight (``closes`` at or before ``opens``) belong to the day they
start on. A closure removes whatever part of a period it covers (a yearly closure covers
whole calendar days in Tokyo).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from uketome.core.dates import TOKYO
from uketome.helpline.models import AnnualClosure, Closure, Line, OpeningHours

Period = tuple[datetime, datetime]


@dataclass(frozen=True)
class Schedule:
    """A line's rules, read once: weekly hours, yearly closures, one-off closures."""

    always_open: bool
    hours: tuple[tuple[int, time, time], ...]
    annual: tuple[tuple[int, int, int, int], ...]
    closures: tuple[Period, ...]

    @classmethod
    def of(cls, line: Line, around: datetime, days: int = 400) -> Schedule:
        hours: Iterable[OpeningHours] = line.hours.all()
        annual: Iterable[AnnualClosure] = line.annual_closures.all()
        window = Closure.objects.filter(
            line=line,
            ends_at__gt=around - timedelta(days=2),
            starts_at__lt=around + timedelta(days=days + 2),
        ).values_list("starts_at", "ends_at")
        return cls(
            always_open=line.always_open,
            hours=tuple((h.weekday, h.opens, h.closes) for h in hours),
            annual=tuple((a.from_month, a.from_day, a.to_month, a.to_day) for a in annual),
            closures=tuple(window),
        )


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=TOKYO)


def _raw_periods(schedule: Schedule, first: date, last: date) -> Iterator[Period]:
    if schedule.always_open:
        yield _at(first, time.min), _at(last + timedelta(days=1), time.min)
        return
    day = first
    while day <= last:
        for weekday, opens, closes in schedule.hours:
            if weekday == day.weekday():
                start = _at(day, opens)
                end = _at(day, closes)
                if closes <= opens:
                    end += timedelta(days=1)
                yield start, end
        day += timedelta(days=1)


def _closed_periods(schedule: Schedule, first: date, last: date) -> list[Period]:
    closed = list(schedule.closures)
    for year in range(first.year - 1, last.year + 1):
        for from_month, from_day, to_month, to_day in schedule.annual:
            begins = date(year, from_month, from_day)
            ends_year = year if (to_month, to_day) >= (from_month, from_day) else year + 1
            ends = date(ends_year, to_month, to_day) + timedelta(days=1)
            closed.append((_at(begins, time.min), _at(ends, time.min)))
    return sorted(closed)


def _subtract(period: Period, closed: list[Period]) -> Iterator[Period]:
    start, end = period
    for c_start, c_end in closed:
        if c_end <= start or c_start >= end:
            continue
        if c_start > start:
            yield start, c_start
        start = max(start, c_end)
        if start >= end:
            return
    if start < end:
        yield start, end


def open_periods(line: Line | Schedule, start: datetime, end: datetime) -> list[Period]:
    """The open periods overlapping [start, end), merged, in order, in Tokyo time."""
    schedule = line if isinstance(line, Schedule) else Schedule.of(line, start)
    first = start.astimezone(TOKYO).date() - timedelta(days=1)
    last = end.astimezone(TOKYO).date()
    closed = _closed_periods(schedule, first, last)
    pieces = sorted(
        piece
        for period in _raw_periods(schedule, first, last)
        for piece in _subtract(period, closed)
        if piece[1] > start and piece[0] < end
    )
    merged: list[Period] = []
    for piece_start, piece_end in pieces:
        if merged and piece_start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], piece_end))
        else:
            merged.append((piece_start, piece_end))
    return merged


def current_period(line: Line | Schedule, at: datetime) -> Period | None:
    for period in open_periods(line, at - timedelta(days=1), at + timedelta(days=1)):
        if period[0] <= at < period[1]:
            return period
    return None


def open_now(line: Line | Schedule, at: datetime) -> bool:
    return current_period(line, at) is not None


def closes_at(line: Line | Schedule, at: datetime) -> datetime | None:
    period = current_period(line, at)
    return period[1] if period else None


def next_opening(line: Line | Schedule, at: datetime, horizon_days: int = 400) -> datetime | None:
    """The next moment after ``at`` when the line goes from closed to open (Tokyo time),
    or None if it does not open within ``horizon_days``."""
    schedule = line if isinstance(line, Schedule) else Schedule.of(line, at, horizon_days)
    periods = open_periods(schedule, at - timedelta(days=1), at + timedelta(days=horizon_days))
    for start, _end in periods:
        if start > at:
            return start.astimezone(TOKYO)
    return None


def weekly_summary(line: Line | Schedule) -> list[tuple[str, str]]:
    """The weekly hours as (days, times) rows for people: ("毎日", "16:00〜21:00").

    Days with the same periods are grouped; a row's days are named by
    ``weekday_names`` (translated), e.g. 月・火・水 or 毎日 / 平日.
    """
    from django.utils.translation import gettext as _

    schedule = line if isinstance(line, Schedule) else Schedule.of(line, datetime.now(TOKYO), 1)
    if schedule.always_open:
        return [(_("Every day"), _("any time"))]
    by_day: dict[int, list[str]] = {}
    for weekday, opens, closes in sorted(schedule.hours, key=lambda h: (h[0], h[1])):
        by_day.setdefault(weekday, []).append(f"{opens:%H:%M}〜{closes:%H:%M}")
    groups: dict[str, list[int]] = {}
    for weekday, periods in sorted(by_day.items()):
        groups.setdefault("、".join(periods), []).append(weekday)
    names = [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]
    rows = []
    for times, days in groups.items():
        if days == list(range(7)):
            label = _("Every day")
        elif days == list(range(5)):
            label = _("Weekdays")
        else:
            label = "・".join(names[d] for d in days)
        rows.append((label, times))
    return rows
