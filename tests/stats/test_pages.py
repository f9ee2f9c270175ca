"""Who reaches the statistics, what each sees, the downloads, bad input, and the printable
annual report."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from uketome.accounts.models import User
from uketome.core.models import AuditEntry
from uketome.stats.selectors import StatsFilters, build_report

NARRATIVE = "SECRET-NARRATIVE"


def test_only_secretariat_and_government_reach_the_statistics(
    personas: dict[str, User], sign_in: Callable[..., Client], small_year: list[Any]
) -> None:
    for name in ("secretariat", "government"):
        client = sign_in(personas[name])
        assert client.get("/staff/stats/?year=2025").status_code == 200, name
        assert client.get("/staff/stats/report/2025/").status_code == 200, name
        assert client.get("/staff/stats/export.xlsx?year=2025").status_code == 200, name
        home = client.get("/staff/").content.decode()
        assert "/staff/stats/" in home, name
    for name in ("listener_tsu", "supervisor_suzuka", "coordinator_tsu", "sysadmin"):
        client = sign_in(personas[name])
        for url in (
            "/staff/stats/?year=2025",
            "/staff/stats/report/2025/",
            "/staff/stats/export.csv?year=2025",
            "/staff/stats/report/2025/edit/overview/",
        ):
            assert client.get(url).status_code == 404, (name, url)
        assert "/staff/stats/" not in client.get("/staff/").content.decode()


def test_government_partners_get_only_suppressed_aggregates(
    personas: dict[str, User], sign_in: Callable[..., Client], small_year: list[Any]
) -> None:
    client = sign_in(personas["government"])
    page = client.get("/staff/stats/?year=2025&view=exact").content.decode()
    assert "&lt;5" in page  # every count in the small year is below five
    assert NARRATIVE not in page
    # No exact count of 1-4 anywhere in the tables' cells.
    assert '<td class="num">1</td>' not in page and '<td class="num">2</td>' not in page
    report_page = client.get("/staff/stats/report/2025/").content.decode()
    assert NARRATIVE not in report_page and "&lt;5" in report_page
    # No contact list, no contact, no export with narrative.
    contact = small_year[0]
    for url in (
        "/staff/contacts/",
        f"/staff/contacts/{contact.pk}/",
        "/staff/contacts/export.csv",
        "/staff/contacts/export.xlsx",
    ):
        assert client.get(url).status_code == 404, url
    book = load_workbook(io.BytesIO(client.get("/staff/stats/export.xlsx?year=2025").content))
    values = [
        cell
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
    ]
    assert not any(isinstance(v, int) and 0 < v < 5 for v in values)
    assert "<5" in values
    assert not any(isinstance(v, str) and NARRATIVE in v for v in values)


def test_secretariat_sees_exact_counts_and_can_preview_the_published_view(
    personas: dict[str, User], sign_in: Callable[..., Client], small_year: list[Any]
) -> None:
    client = sign_in(personas["secretariat"])
    exact = client.get("/staff/stats/?year=2025").content.decode()
    assert '<td class="num">2</td>' in exact and "&lt;5" not in exact
    published = client.get("/staff/stats/?year=2025&view=published").content.decode()
    assert "&lt;5" in published and '<td class="num">2</td>' not in published
    assert NARRATIVE not in exact


def test_excel_read_back_has_the_numbers(
    personas: dict[str, User], sign_in: Callable[..., Client], small_year: list[Any]
) -> None:
    client = sign_in(personas["secretariat"])
    response = client.get("/staff/stats/export.xlsx?year=2025")
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    book = load_workbook(io.BytesIO(response.content))
    report = build_report(StatsFilters(year=2025), published=False)
    assert len(book.worksheets) == len(report.tables) + 1  # one sheet per table + about
    month = book.worksheets[1 + [t.key for t in report.tables].index("month")]
    rows = list(month.iter_rows(values_only=True))
    assert rows[0][0] == report.table("month").title
    assert rows[2][1:3] == (2, 0)  # April: this year, previous year
    assert rows[13][1:3] == (1, 0)  # March
    assert rows[14][1:3] == (4, 1)  # totals
    topics = book.worksheets[1 + [t.key for t in report.tables].index("topics")]
    found = {row[0]: row[1] for row in topics.iter_rows(min_row=3, values_only=True) if row[0]}
    assert found["いじめ"] == 1 and found["虐待"] == 1
    ages = book.worksheets[1 + [t.key for t in report.tables].index("age_gender")]
    header = list(next(ages.iter_rows(min_row=2, max_row=2, values_only=True)))
    junior = next(r for r in ages.iter_rows(min_row=3, values_only=True) if r[0] == "中学生")
    assert junior[header.index("女子")] == 2
    assert AuditEntry.objects.filter(action="stats.exported").count() == 1


def test_csv_has_a_bom_and_the_tables(
    personas: dict[str, User], sign_in: Callable[..., Client], small_year: list[Any]
) -> None:
    client = sign_in(personas["secretariat"])
    body = client.get("/staff/stats/export.csv?year=2025").content
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert NARRATIVE not in text
    rows = list(csv.reader(io.StringIO(text)))
    report = build_report(StatsFilters(year=2025), published=False)
    start = rows.index([report.table("line").title])
    lines = {r[0]: r[1] for r in rows[start + 2 : start + 5]}
    assert lines["チャイルドラインMIE"] == "2"


@pytest.mark.parametrize(
    "query", ["year=abc", "year=1800", "year=99999", "line=999", "first_month=13"]
)
def test_bad_filters_give_a_clear_message_not_an_error(
    query: str, personas: dict[str, User], sign_in: Callable[..., Client], small_year: list[Any]
) -> None:
    client = sign_in(personas["secretariat"])
    response = client.get(f"/staff/stats/?{query}")
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert client.get(f"/staff/stats/export.xlsx?{query}").status_code == 302


def test_an_empty_year_shows_an_empty_state(
    personas: dict[str, User], sign_in: Callable[..., Client], small_year: list[Any]
) -> None:
    client = sign_in(personas["government"])
    page = client.get("/staff/stats/?year=2019").content.decode()
    assert "empty-state" in page and 'href="?year=2025"' in page
    report = client.get("/staff/stats/report/2019/")
    assert report.status_code == 200 and "empty-state" in report.content.decode()
    assert client.get("/staff/stats/report/1800/").status_code == 404


def test_no_contacts_at_all(personas: dict[str, User], sign_in: Callable[..., Client]) -> None:
    client = sign_in(personas["secretariat"])
    response = client.get("/staff/stats/")
    assert response.status_code == 200 and "empty-state" in response.content.decode()


def test_annual_report_prints_on_a4(
    personas: dict[str, User], sign_in: Callable[..., Client], small_year: list[Any]
) -> None:
    client = sign_in(personas["government"])
    page = client.get("/staff/stats/report/2025/").content.decode()
    assert "uketome/stats.css" in page and "<svg" in page and "<title" in page
    assert 'id="section-proposals"' in page
    css = Path(__file__).resolve().parents[2] / "src/uketome/static/uketome/stats.css"
    text = css.read_text()
    assert "@page { size: A4" in text and "@media print" in text
    assert "style=" not in page  # CSP: no inline style


def test_sections_are_co_edited_with_history(
    personas: dict[str, User], sign_in: Callable[..., Client], small_year: list[Any]
) -> None:
    government = sign_in(personas["government"])
    secretariat = sign_in(personas["secretariat"])
    url = "/staff/stats/report/2025/edit/proposals/"
    form = government.get(url)
    assert form.status_code == 200
    response = government.post(
        url, {"body": "学校での相談窓口カードの配布を続ける。", "base_revision": ""}
    )
    assert response.status_code == 302
    # The secretariat opened the section before the partner saved: a conflict, text kept.
    stale = secretariat.post(url, {"body": "私の案", "base_revision": ""})
    assert stale.status_code == 400
    assert "私の案" in stale.content.decode()
    assert "学校での相談窓口カード" in stale.content.decode()  # the newest version is shown
    newest = stale.context["form"]["base_revision"].value()
    ok = secretariat.post(url, {"body": "両方の案をまとめた提言。", "base_revision": newest})
    assert ok.status_code == 302
    page = government.get("/staff/stats/report/2025/").content.decode()
    assert "両方の案をまとめた提言。" in page
    history = government.get(url).content.decode()
    assert "学校での相談窓口カード" in history and "両方の案をまとめた提言。" in history
    assert AuditEntry.objects.filter(action="report.section_saved").count() == 2
    assert government.post(url.replace("proposals", "nope"), {"body": "x"}).status_code == 404
