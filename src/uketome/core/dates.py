"""Dates in the helpline's terms: Asia/Tokyo and the Japanese fiscal year (年度, April-March)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

TOKYO = ZoneInfo("Asia/Tokyo")
FISCAL_YEAR_START_MONTH = 4


def local_date(moment: datetime | None = None) -> date:
    """The date in Tokyo at ``moment`` (now by default)."""
    return timezone.localtime(moment or timezone.now(), TOKYO).date()


def fiscal_year(day: date | datetime) -> int:
    """The fiscal year a day belongs to: 2026-03-31 is in FY2025, 2026-04-01 in FY2026.

    A datetime is read in Tokyo time first.
    """
    if isinstance(day, datetime):
        day = local_date(day)
    return day.year if day.month >= FISCAL_YEAR_START_MONTH else day.year - 1


def fiscal_year_dates(year: int) -> tuple[date, date]:
    """First and last day of fiscal year ``year`` (inclusive)."""
    start = date(year, FISCAL_YEAR_START_MONTH, 1)
    return start, date(year + 1, FISCAL_YEAR_START_MONTH, 1) - timedelta(days=1)


def fiscal_year_bounds(year: int) -> tuple[datetime, datetime]:
    """Aware datetimes [start, end) of fiscal year ``year`` in Tokyo, for range queries."""
    return (
        datetime.combine(date(year, FISCAL_YEAR_START_MONTH, 1), time.min, tzinfo=TOKYO),
        datetime.combine(date(year + 1, FISCAL_YEAR_START_MONTH, 1), time.min, tzinfo=TOKYO),
    )


def fiscal_year_label(year: int) -> str:
    """``2026年度`` in Japanese, ``FY2026`` in English."""
    return _("FY%(year)s") % {"year": year}
