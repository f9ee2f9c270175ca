"""Template context for staff pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from uketome.core.permissions import decide_escalation


def staff(request: HttpRequest) -> dict[str, Any]:
    """``alerts_on``: the page listens for live escalation alerts (supervisors)."""
    user = getattr(request, "user", None)
    if user is None or not request.path.startswith("/staff/"):
        return {}
    return {"alerts_on": decide_escalation.test(user)}
