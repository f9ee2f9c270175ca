"""Background jobs of the core, run by `uketome worker`."""

from __future__ import annotations

from django_tasks import task

from uketome.core.services import audit_check


@task()
def verify_audit_log() -> dict[str, object]:
    """Check the audit chain. Queued by `uketome audit-verify --later` (daily from cron,
    say) and run by `uketome worker`; the result is an audit entry of its own."""
    result = audit_check(actor=None)
    return {"ok": result.ok, "checked": result.checked, "problems": result.problems[:20]}
