"""The rollup stays current (hook, command, nightly job) and the seams for figures that
other apps record."""

from __future__ import annotations

import io
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command

from tests.stats.conftest import tokyo
from uketome.core.models import AuditEntry
from uketome.helpline.models import Contact
from uketome.stats import rollup, sources
from uketome.stats.models import MonthlyCount
from uketome.stats.selectors import StatsFilters, build_report


def contacts_counted() -> int:
    return sum(MonthlyCount.objects.filter(dim="contacts").values_list("n", flat=True))


def test_a_recorded_contact_is_counted_after_commit(
    record: Callable[..., Contact], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record(tokyo(2025, 6, 2, 17, 0), topics=("bullying",))
    assert contacts_counted() == 0  # nothing before the commit
    for callback in callbacks:
        callback()
    assert contacts_counted() == 1
    with django_capture_on_commit_callbacks(execute=True):
        record(tokyo(2025, 6, 3, 17, 0), topics=("bullying",))
    assert contacts_counted() == 2
    assert MonthlyCount.objects.get(dim="contacts").n == 2  # same month, line, site: one row


def test_a_failing_count_never_stops_a_contact_being_recorded(
    record: Callable[..., Contact],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(contact_id: int) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(rollup, "contact_counts", broken)
    with django_capture_on_commit_callbacks(execute=True):
        contact = record(tokyo(2025, 6, 2, 17, 0))
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert contacts_counted() == 0
    assert "nightly rebuild" in caplog.text
    monkeypatch.undo()
    call_command("stats_rebuild", "--year", "2025", stdout=io.StringIO())
    assert contacts_counted() == 1
    assert AuditEntry.objects.filter(action="stats.rollup_rebuilt").count() == 1


def test_rebuild_command_and_nightly_job(small_year: list[Contact]) -> None:
    MonthlyCount.objects.all().delete()
    out = io.StringIO()
    call_command("stats_rebuild", stdout=out)
    assert "rows written" in out.getvalue()
    assert contacts_counted() == len(small_year)
    with pytest.raises(Exception, match="YYYY-MM"):
        call_command("stats_rebuild", "--month", "May", stdout=io.StringIO())
    from uketome.stats.tasks import rebuild_recent

    assert rebuild_recent.call() >= 0  # this month and the last (no contacts there)
    assert contacts_counted() == len(small_year)


def test_figures_not_recorded_yet_are_said_so(
    small_year: list[Contact], monkeypatch: pytest.MonkeyPatch
) -> None:
    report = build_report(StatsFilters(year=2025), published=True)
    assert len(report.not_recorded) == 1  # phone attempts: no telephony provider
    assert "chat_waiting" in [t.key for t in report.tables]
    # Without the chat and mail apps' figures the report says so instead of guessing.
    monkeypatch.setattr(
        sources,
        "PROVIDERS",
        {
            **sources.PROVIDERS,
            "chat_waiting_times": ("uketome.nowhere", "x"),
            "mail_reply_times": ("uketome.nowhere", "x"),
        },
    )
    report = build_report(StatsFilters(year=2025), published=True)
    assert len(report.not_recorded) == 3
    assert "chat_waiting" not in [t.key for t in report.tables]


def test_a_chat_app_plugs_in_its_waiting_times(
    small_year: list[Contact], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[sources.Period] = []

    def waiting_times(period: sources.Period) -> sources.ChatWaiting:
        asked.append(period)
        return sources.ChatWaiting(
            requests=40,
            handled=30,
            gave_up=10,
            waiting=sources.Distribution([("<1", 12), ("1-5", 15), ("5+", 3)]),
            gave_up_after=sources.Distribution([("<1", 10)]),
        )

    module = types.ModuleType("uketome.chat.stats")
    module.waiting_times = waiting_times  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "uketome.chat.stats", module)
    report = build_report(StatsFilters(year=2025, line=small_year[2].line_id), published=True)
    assert asked and asked[0].line_id == small_year[2].line_id
    assert asked[0].start == tokyo(2025, 4, 1) and asked[0].end == tokyo(2026, 4, 1)
    waiting = report.table("chat_waiting")
    # 3 is small; with the total 30 shown, the smallest other count (12) is hidden too.
    assert [r["cells"][0] for r in waiting.rows] == ["x", "15", "<5"]
    assert waiting.totals is not None and waiting.totals["cells"] == ["30"]
    assert len(report.not_recorded) == 1
