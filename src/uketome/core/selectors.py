"""Reads of core data that depend on who is asking."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from uketome.core.models import AuditEntry
from uketome.core.permissions import view_audit


def audit_entries_visible_to(user: Any) -> QuerySet[AuditEntry]:
    return view_audit.filter(user, AuditEntry.objects.all())
