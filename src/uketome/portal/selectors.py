"""What the children's pages show about the lines: open now, closing time, next opening."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.urls import reverse

from uketome.helpline.hours import Schedule, closes_at, next_opening, open_now, weekly_summary
from uketome.helpline.models import Audience, Channel, Line


@dataclass(frozen=True)
class LineStatus:
    line: Line
    is_open: bool
    closes_at: datetime | None
    next_opening: datetime | None
    hours: list[tuple[str, str]]

    @property
    def phone_href(self) -> str:
        digits = "".join(ch for ch in self.line.phone_number if ch.isdigit() or ch in "#*")
        return f"tel:{digits}" if digits else ""

    @property
    def page_href(self) -> str:
        """Where a child reaches a line that is not a phone number: chat, letters, Q&A."""
        channels = set(self.line.channels or [])
        if Channel.CHAT in channels:
            return f"{reverse('chat_public:page')}?{urlencode({'line': self.line.slug})}"
        if Channel.MAIL in channels:
            return reverse("letters:write")
        if Channel.QA in channels:
            return reverse("qa:index")
        return ""


def line_statuses(at: datetime, audience: str = Audience.CHILDREN) -> list[LineStatus]:
    """Every active line for ``audience``, open ones first, as of ``at``."""
    statuses = []
    lines = Line.objects.filter(active=True, audience=audience).prefetch_related(
        "hours", "annual_closures"
    )
    for line in lines:
        schedule = Schedule.of(line, at)
        is_open = open_now(schedule, at)
        statuses.append(
            LineStatus(
                line=line,
                is_open=is_open,
                closes_at=closes_at(schedule, at) if is_open else None,
                next_opening=next_opening(schedule, at),
                hours=weekly_summary(schedule),
            )
        )
    statuses.sort(key=lambda s: (not s.is_open, s.line.sort_order))
    return statuses
