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
