"""Daily jobs, queued by every `uketome worker` (each job once per day, whichever worker
gets there first) and then run like any other background job."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, time
from importlib import import_module

from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone

from uketome.core.dates import TOKYO
from uketome.core.models import ScheduledRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    at: time  # Tokyo time
    task: str  # dotted path of a django-tasks task


JOBS = [
    Job("retention", time(3, 0), "uketome.helpline.tasks.run_retention"),
    Job("chat-retention", time(3, 10), "uketome.chat.tasks.run_chat_retention"),
    Job("letters-retention", time(3, 20), "uketome.mail.tasks.run_letters_retention"),
    Job("qa-retention", time(3, 30), "uketome.qa.tasks.run_qa_retention"),
    Job("audit-verify", time(4, 0), "uketome.core.tasks.verify_audit_log"),
    Job("stats-rebuild", time(5, 0), "uketome.stats.tasks.rebuild_recent"),
]


def enqueue_due(now: datetime | None = None, jobs: list[Job] = JOBS) -> list[str]:
    """Queue each job whose time has come today and that nobody queued yet."""
    now = timezone.localtime(now or timezone.now(), TOKYO)
    queued = []
    for job in jobs:
        if now.time() < job.at:
            continue
        try:
            with transaction.atomic():
                ScheduledRun.objects.create(job=job.name, day=now.date())
                module, _, attribute = job.task.rpartition(".")
                getattr(import_module(module), attribute).enqueue()
        except IntegrityError:
            continue  # already queued today
        queued.append(job.name)
    return queued


def run_forever(stop: threading.Event, interval: float = 60.0) -> None:
    while not stop.is_set():
        try:
            for name in enqueue_due():
                logger.warning("scheduled job queued: %s", name)
        except Exception:
            logger.exception("could not queue scheduled jobs")
        finally:
            close_old_connections()
        stop.wait(interval)
