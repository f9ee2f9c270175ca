"""Template helpers for the public content pages."""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString

from uketome.content.render import date_html

register = template.Library()


@register.filter
def child_date(
    value: datetime.date | datetime.datetime | None, grade: int | None
) -> SafeString | str:
    """``{{ day|child_date:grade }}``: 2025年7月26日（土）, with its readings at grade 0."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value)
    return date_html(value, grade)
