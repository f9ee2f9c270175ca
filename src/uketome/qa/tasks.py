"""Background jobs of the Q&A corner, run by `uketome worker`."""

from __future__ import annotations

from django_tasks import task

from uketome.qa.services import qa_retention_run


@task()
def run_qa_retention() -> int:
    """Remove the child's words of finished questions past the retention period."""
    return qa_retention_run(actor=None)
