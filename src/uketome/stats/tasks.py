"""Background jobs of the statistics app, run by `uketome worker`."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from uketome.core.dates import local_date
from uketome.stats.services import rollup_rebuild


@task()
def rebuild_recent() -> int:
    """Recompute this month and the last from the contacts (nightly): repairs any count
    the after-commit hook missed and picks up contacts changed outside contact_record."""
    today = local_date()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    return rollup_rebuild(actor=None, months=[last_month, this_month])
