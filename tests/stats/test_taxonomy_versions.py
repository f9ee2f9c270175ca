"""A year whose contacts were recorded with two taxonomy versions is counted in the
current version's categories, with a note on the page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.test import Client

from tests.stats.conftest import tokyo
from uketome.accounts.models import User
from uketome.helpline.taxonomy import load_all, read, taxonomy_files
from uketome.stats.selectors import StatsFilters, build_report


def _next_version(directory: Path) -> None:
    """A copy of the shipped files plus version 2099.1 that renames 'bullying' (いじめ)."""
    for path in taxonomy_files():
        (directory / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    base = taxonomy_files()[-1]
    text = base.read_text(encoding="utf-8")
    text = text.replace(f'version = "{read(base)["version"]}"', 'version = "2099.1"', 1)
    text = text.replace(
        'code = "bullying"\nlabel = "いじめ"',
        'code = "bullying_any"\nlabel = "いじめ・いやがらせ"',
        1,
    )
    text += '\n[[mapping]]\nkind = "topic"\nfrom = "bullying"\nto = "bullying_any"\n'
    (directory / "2099.1.toml").write_text(text, encoding="utf-8")


def test_a_year_across_two_versions_is_mapped_with_a_note(
    tmp_path: Path,
    record: Callable[..., Any],
    django_capture_on_commit_callbacks: Any,
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        record(tokyo(2025, 4, 10, 17, 0), topics=("bullying",), age="junior_high", gender="girl")
    _next_version(tmp_path)
    load_all(tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        record(tokyo(2025, 9, 1, 18, 0), topics=("bullying_any",), age="junior_high", gender="girl")

    report = build_report(StatsFilters(year=2025), published=False)
    topics = {row["label"]: row["cells"][0] for row in report.table("topics").rows}
    assert topics == {"いじめ・いやがらせ": "2"}  # one row, both contacts
    chi = {row["label"]: row["cells"][0] for row in report.table("chi").rows}
    assert chi["Violence (暴力)"] == "2"
    ages = report.table("age_gender")
    assert ages.totals is not None and ages.totals["total"] == "2"
    assert len(report.notes) == 1 and "2099.1" in report.notes[0] and "2026.1" in report.notes[0]

    page = sign_in(personas["secretariat"]).get("/staff/stats/?year=2025").content.decode()
    assert "taxonomy-note" in page and "2099.1" in page
    one_version = build_report(StatsFilters(year=2025, last_month=1), published=False)
    assert one_version.notes == []
