"""Japanese text helpers and the fiscal year (April-March, Asia/Tokyo)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.utils import translation

from uketome.core.dates import (
    fiscal_year,
    fiscal_year_bounds,
    fiscal_year_dates,
    fiscal_year_label,
)
from uketome.core.text import fold_kana, normalize, search_key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("ｼﾆﾀｲ", "しにたい"),
        ("シニタイ", "しにたい"),
        ("しにたい", "しにたい"),
        ("ＬＩＮＥ　ＩＤ", "lineid"),
        ("１２３", "123"),
        ("  学校  に 行けない ", "学校に行けない"),
    ],
)
def test_search_key_folds_width_kana_case_and_spaces(text: str, key: str) -> None:
    assert search_key(text) == key


def test_normalize_keeps_kanji_and_collapses_spaces() -> None:
    assert normalize("中学２年　です") == "中学2年 です"


def test_fold_kana_leaves_kanji() -> None:
    assert fold_kana("ママが怖い") == "ままが怖い"


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2026, 3, 31), 2025),
        (date(2026, 4, 1), 2026),
        (date(2026, 12, 31), 2026),
        (date(2027, 1, 1), 2026),
    ],
)
def test_fiscal_year_starts_in_april(day: date, year: int) -> None:
    assert fiscal_year(day) == year


def test_fiscal_year_of_a_moment_is_read_in_tokyo() -> None:
    # 2026-03-31 15:30 UTC is already 2026-04-01 00:30 in Tokyo: the new fiscal year.
    assert fiscal_year(datetime(2026, 3, 31, 15, 30, tzinfo=UTC)) == 2026
    assert fiscal_year(datetime(2026, 3, 31, 14, 30, tzinfo=UTC)) == 2025


def test_fiscal_year_ranges() -> None:
    assert fiscal_year_dates(2026) == (date(2026, 4, 1), date(2027, 3, 31))
    start, end = fiscal_year_bounds(2026)
    assert start.isoformat() == "2026-04-01T00:00:00+09:00"
    assert end.isoformat() == "2027-04-01T00:00:00+09:00"


def test_fiscal_year_label_in_japanese_and_english() -> None:
    with translation.override("ja"):
        assert fiscal_year_label(2026) == "2026年度"
    with translation.override("en"):
        assert fiscal_year_label(2026) == "FY2026"
