"""Background jobs of the helpline, run by `uketome worker`."""

from __future__ import annotations

from django_tasks import task

from uketome.helpline.services import retention_run


@task()
def run_retention() -> dict[str, int]:
    """Remove narrative content past each line's retention period (daily, scheduled)."""
    return retention_run(actor=None).removed
