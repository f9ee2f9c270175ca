"""The report's figures against a small year worked out by hand (see conftest.small_year).

Rows are found by taxonomy label (data, in Japanese) or by position for the report's own
labels, so the tests hold in any language."""

from __future__ import annotations

from typing import Any

from uketome.stats import rollup
from uketome.stats.models import MonthlyCount
from uketome.stats.selectors import StatsFilters, build_report


def cells(report: Any, key: str, col: int = 0) -> list[str]:
    return [row["cells"][col] for row in report.table(key).rows]


def column(report: Any, key: str, col: int = 0) -> dict[str, str]:
    return {row["label"]: row["cells"][col] for row in report.table(key).rows}


def test_when_and_where(small_year: list[Any]) -> None:
    report = build_report(StatsFilters(year=2025), published=False)
    assert report.total == 4
    assert report.previous_total == 1
    # April .. March
    assert cells(report, "month") == ["2", "1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "1"]
    assert cells(report, "month", 1) == ["0", "0", "1"] + ["0"] * 9  # FY2024: June
    assert report.table("month").totals["cells"] == ["4", "1"]  # type: ignore[index]
    # Monday .. Sunday: Thu 10 Apr, Fri 11 Apr, Sat 3 May, Tue 31 Mar.
    assert cells(report, "weekday") == ["0", "1", "0", "1", "1", "1", "0"]
    hours = cells(report, "hour")
    assert [hours[h] for h in (16, 17, 18, 19, 20, 21)] == ["0", "1", "1", "1", "1", "0"]
    assert column(report, "line") == {
        "チャイルドラインMIE": "2",
        "こどもほっとダイヤル": "1",
        "オンライン相談(チャット)": "1",
    }
    sites = report.table("site")
    assert [r["cells"][0] for r in sites.rows] == ["2", "1", "1"]  # 津, 鈴鹿, no site
    assert [r["label"] for r in sites.rows][:2] == ["津", "鈴鹿"]
    assert cells(report, "channel") == ["3", "1"]  # phone, chat


def test_phone_people_topics_and_chi(small_year: list[Any]) -> None:
    report = build_report(StatsFilters(year=2025), published=False)
    phone = report.table("phone")
    by_line = {row["label"]: row for row in phone.rows}
    talk = phone.col_labels.index("会話成立")
    silent = phone.col_labels.index("無言")
    assert by_line["チャイルドラインMIE"]["cells"][talk] == "1"
    assert by_line["チャイルドラインMIE"]["cells"][silent] == "1"
    assert by_line["チャイルドラインMIE"]["total"] == "2"
    assert by_line["こどもほっとダイヤル"]["cells"][talk] == "1"
    assert phone.totals is not None and phone.totals["total"] == "3"
    # Phone answered 3, phone conversations 2, chats handled 1 (a contact record), chat
    # requests and gave-ups 0 (the chat app's own queue: none in this year), letters
    # answered 0, letters received and over target 0.
    assert cells(report, "service") == ["3", "2", "1", "0", "0", "0", "0", "0"]

    ages = report.table("age_gender")
    girls, boys = ages.col_labels.index("女子"), ages.col_labels.index("男子")
    rows = {row["label"]: row for row in ages.rows}
    assert rows["中学生"]["cells"][girls] == "2" and rows["中学生"]["total"] == "2"
    assert rows["中卒~18歳"]["cells"][boys] == "1" if "中卒~18歳" in rows else True
    assert ages.totals is not None and ages.totals["total"] == "3"  # conversations only
    assert ages.totals["cells"][girls] == "2" and ages.totals["cells"][boys] == "1"

    assert column(report, "topics") == {
        "人間関係": "1",
        "いじめ": "1",
        "性への興味・関心": "1",
        "虐待": "1",
    }
    assert column(report, "topics", 1)["いじめ"] == "1"
    assert column(report, "feelings") == {"不安": "1"}

    chi = column(report, "chi")
    assert chi["Violence (暴力)"] == "2"  # bullying and abuse: two contacts
    assert chi["Peer relationships (友人・恋人との関係)"] == "1"
    assert chi["Sexuality (性)"] == "1"
    assert chi["Non-counselling contacts (相談以外の連絡)"] == "1"  # the silent call
    assert chi["Missing children (行方不明の子ども)"] == "0"
    assert len(chi) == 12  # the 11 categories and "no topic recorded"

    risk = report.table("risk")
    assert [(r["label"], r["cells"]) for r in risk.rows][:3] == [
        ("なし", ["1", "0"]),
        ("注意", ["1", "0"]),
        ("高", ["1", "0"]),
    ]
    assert risk.rows[3]["cells"] == ["0", "1"]  # FY2024's contact had no risk recorded
    concern = report.table("main_concern")
    assert [r["cells"][0] for r in concern.rows][-1] == "1"  # the chat: not recorded
    escalations = report.table("escalations")
    assert escalations.totals is not None and escalations.totals["cells"] == ["1"]
    assert cells(report, "repeat") == ["1", "2", "0"]  # first, repeat, unknown


def test_filters_by_line_site_and_months(small_year: list[Any]) -> None:
    chat_only = build_report(StatsFilters(year=2025, line=small_year[2].line_id), published=False)
    assert chat_only.total == 1
    tsu = build_report(StatsFilters(year=2025, site=small_year[0].site_id), published=False)
    assert tsu.total == 2
    may_to_march = build_report(StatsFilters(year=2025, first_month=2), published=False)
    assert may_to_march.total == 2
    april = build_report(StatsFilters(year=2025, first_month=1, last_month=1), published=False)
    assert april.total == 2
    assert len(april.table("month").rows) == 1


def rollup_rows() -> set[tuple[Any, ...]]:
    return set(
        MonthlyCount.objects.values_list(
            "month", "line_id", "site_id", "channel", "dim", "key", "n"
        )
    )


def test_rebuild_gives_the_same_rollup_as_the_hook(small_year: list[Any]) -> None:
    by_hook = rollup_rows()
    assert by_hook
    rollup.rebuild()
    assert rollup_rows() == by_hook
    april = small_year[0].started_at.date().replace(day=1)
    MonthlyCount.objects.filter(month=april).update(n=999)
    rollup.rebuild(months=[april])
    assert rollup_rows() == by_hook


def test_an_empty_or_unknown_year_is_empty(small_year: list[Any]) -> None:
    report = build_report(StatsFilters(year=2019), published=True)
    assert report.empty and report.tables == []
