"""Reads of staff data that depend on who is asking."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from uketome.accounts.models import Membership
from uketome.core.permissions import view_membership


def memberships_visible_to(user: Any) -> QuerySet[Membership]:
    """The memberships (the roster) that ``user`` may see."""
    return view_membership.filter(
        user, Membership.objects.active().select_related("user", "site", "organization")
    )
