"""Background jobs of the children's letters, run by `uketome worker`."""

from __future__ import annotations

from django_tasks import task

from uketome.mail.services import letters_retention_run


@task()
def run_letters_retention() -> dict[str, int]:
    """Remove letter texts past each line's retention period (daily, scheduled)."""
    return letters_retention_run()
