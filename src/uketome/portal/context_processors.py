"""Context every public page needs: the furigana choice and the quick-exit address."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from uketome.portal import ruby


def public(request: HttpRequest) -> dict[str, Any]:
    if request.path.startswith("/staff/"):
        return {}
    return {
        "grade": ruby.grade_from(request),
        "grade_param": ruby.GRADE_PARAM,
        "grade_choices": ruby.CHOICES,
        "quick_exit_url": settings.QUICK_EXIT_URL,
    }
