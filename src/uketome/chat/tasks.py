"""Background jobs of live chat, run by `uketome worker`."""

from __future__ import annotations

from django_tasks import task

from uketome.chat.services import retention_run


@task()
def run_chat_retention() -> dict[str, int]:
    """Remove chat transcripts past each line's retention period (daily, scheduled)."""
    return retention_run(actor=None)
