"""`uketome worker` runs queued background jobs from the database."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from uketome.core.models import AuditEntry
from uketome.core.tasks import verify_audit_log


@pytest.mark.django_db(transaction=True)
def test_worker_runs_a_queued_job(personas: Any) -> None:
    call_command("audit_verify", later=True, stdout=io.StringIO())
    queued = verify_audit_log.get_result(DBTaskResult.objects.get().id)
    assert queued.status == TaskResultStatus.READY
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)
    queued.refresh()
    assert queued.status == TaskResultStatus.SUCCESSFUL
    assert queued.return_value["ok"] is True
    assert AuditEntry.objects.filter(action="audit.verified", actor_label="system").exists()


@pytest.mark.django_db(transaction=True)
def test_every_daily_job_is_queued_once_and_runs(network: Any) -> None:
    """After 05:00 Tokyo every daily job (retention of each kind of content, the audit
    check, the statistics rebuild) is queued once, and the worker runs each to success."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from uketome.core.schedule import JOBS, enqueue_due

    morning = datetime(2026, 11, 26, 6, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert sorted(enqueue_due(morning)) == sorted(job.name for job in JOBS)
    assert enqueue_due(morning) == []  # once a day
    call_command("db_worker", batch=True, reload=False, startup_delay=False, verbosity=0)
    results = DBTaskResult.objects.all()
    assert results.count() == len(JOBS)
    assert {r.status for r in results} == {TaskResultStatus.SUCCESSFUL}
