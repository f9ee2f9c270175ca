"""Writes that belong to the core: checking the audit chain (which is itself audited)."""

from __future__ import annotations

from typing import Any

from uketome.core.audit import VerifyResult, audit_record, audit_verify


def audit_check(*, actor: Any) -> VerifyResult:
    """Verify the audit chain and record that it was checked, and with what result."""
    result = audit_verify()
    audit_record(
        actor=actor,
        action="audit.verified",
        data={"checked": result.checked, "ok": result.ok, "problems": len(result.problems)},
    )
    return result
