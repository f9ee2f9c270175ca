"""Small-cell suppression: every count of 1-4 is hidden, and no hidden count can be worked
out from what is shown (the visible cells, the totals, and the marks' meaning)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from uketome.stats.suppression import (
    COMPLEMENTARY,
    PRIMARY,
    THRESHOLD,
    UNPUBLISHED,
    VISIBLE,
    WITHHELD,
    determined_cells,
    suppress,
    suppress_column,
)

# Counts skewed towards the small ones, where suppression matters.
counts = st.one_of(st.integers(0, 6), st.integers(0, 60))


@st.composite
def tables(draw: st.DrawFn, max_rows: int = 6, max_cols: int = 5) -> list[list[int]]:
    rows = draw(st.integers(1, max_rows))
    cols = draw(st.integers(1, max_cols))
    return [[draw(counts) for _ in range(cols)] for _ in range(rows)]


@settings(max_examples=300, deadline=None)
@given(tables(), st.booleans(), st.booleans())
def test_no_hidden_count_can_be_worked_out(
    values: list[list[int]], row_totals: bool, col_totals: bool
) -> None:
    result = suppress(values, row_totals=row_totals, col_totals=col_totals)
    if result.withheld:
        # Only when hiding every cell was not enough; then nothing at all is shown.
        assert all(s in (WITHHELD, UNPUBLISHED) for row in result.status for s in row)
        assert sum(map(sum, values)) < 4 * THRESHOLD * max(len(values), len(values[0]))
        return
    for r, row in enumerate(result.values):
        for c, value in enumerate(row):
            status = result.status[r][c]
            if status == UNPUBLISHED:
                continue
            shown = result.shown(r, c)
            if 0 < value < THRESHOLD:
                assert status == PRIMARY and shown == "<5"
            elif status == VISIBLE:
                assert shown == f"{value:,}"
            else:
                assert status == COMPLEMENTARY and value >= THRESHOLD and shown == "x"
    assert determined_cells(result.values, result.status) == []
    # In every row and column whose total is shown (and that has no unpublished cell),
    # a hidden cell is never alone: one alone would be the total minus the rest.
    n_rows, n_cols = len(result.values), len(result.values[0])
    lines = [[(r, c) for c in range(n_cols)] for r in range(n_rows)]
    lines += [[(r, c) for r in range(n_rows)] for c in range(n_cols)]
    for line in lines:
        *cells, total = line
        marks = [result.status[r][c] for r, c in cells]
        if result.status[total[0]][total[1]] == VISIBLE and UNPUBLISHED not in marks:
            assert sum(m in (PRIMARY, COMPLEMENTARY) for m in marks) != 1


def brute_force_determined(
    values: list[list[int]], status: list[list[str]]
) -> set[tuple[int, int]]:
    """The same question answered by trying every table a reader could believe (small
    tables only): which hidden cells have one possible value?"""
    n_rows, n_cols = len(values), len(values[0])
    cap = max(max(row) for row in values) + 2
    unknown = [(r, c) for r in range(n_rows) for c in range(n_cols) if status[r][c] != VISIBLE]
    ranges = []
    for r, c in unknown:
        if status[r][c] == PRIMARY:
            ranges.append(range(1, THRESHOLD))
        elif status[r][c] == COMPLEMENTARY:
            ranges.append(range(THRESHOLD, max(cap, THRESHOLD) + 1))
        else:
            ranges.append(range(0, cap + 1))
    seen: dict[tuple[int, int], set[int]] = {pos: set() for pos in unknown}
    grid = [row[:] for row in values]
    for guess in itertools.product(*ranges):
        for (r, c), v in zip(unknown, guess, strict=True):
            grid[r][c] = v
        if all(sum(grid[r][:-1]) == grid[r][-1] for r in range(n_rows)) and all(
            sum(grid[r][c] for r in range(n_rows - 1)) == grid[-1][c] for c in range(n_cols)
        ):
            for pos, v in zip(unknown, guess, strict=True):
                seen[pos].add(v)
    return {
        pos
        for pos in unknown
        if status[pos[0]][pos[1]] in (PRIMARY, COMPLEMENTARY) and len(seen[pos]) <= 1
    }


@st.composite
def tiny_cases(draw: st.DrawFn) -> tuple[list[list[int]], list[list[str]]]:
    """A tiny augmented table with an arbitrary (not necessarily safe) hiding pattern."""
    rows, cols = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    inner = [[draw(st.integers(0, 7)) for _ in range(cols)] for _ in range(rows)]
    table = [[*row, sum(row)] for row in inner]
    table.append([sum(row[c] for row in table) for c in range(cols + 1)])
    status = []
    for row in table:
        marks = []
        for value in row:
            if 0 < value < THRESHOLD:
                marks.append(PRIMARY)
            elif value >= THRESHOLD:
                marks.append(draw(st.sampled_from([VISIBLE, VISIBLE, COMPLEMENTARY])))
            else:
                marks.append(VISIBLE)
        status.append(marks)
    hidden = sum(mark != VISIBLE for row in status for mark in row)
    if hidden > 5:  # keep the brute force quick
        status = [[PRIMARY if m == PRIMARY else VISIBLE for m in row] for row in status]
    return table, status


@settings(max_examples=150, deadline=None)
@given(tiny_cases())
def test_the_fast_check_agrees_with_trying_every_table(
    case: tuple[list[list[int]], list[list[str]]],
) -> None:
    table, status = case
    if sum(m != VISIBLE for row in status for m in row) > 6:
        return
    assert set(determined_cells(table, status)) == brute_force_determined(table, status)


def test_a_single_small_count_takes_a_partner() -> None:
    result = suppress_column([10, 3, 20, 7])
    shown = [result.shown(r, 0) for r in range(5)]
    assert shown == ["10", "<5", "20", "x", "40"]


def test_two_ones_are_not_left_alone() -> None:
    # 1 + 1 = total minus the rest = 2: both would have to be 1.
    result = suppress_column([1, 1, 20, 7])
    assert [result.shown(r, 0) for r in range(5)] == ["<5", "<5", "20", "x", "29"]


def test_a_small_total_is_hidden_too() -> None:
    result = suppress([[2, 1], [0, 0]])
    assert result.shown(2, 2) == "<5"
    assert determined_cells(result.values, result.status) == []


def test_without_a_total_nothing_more_is_hidden() -> None:
    result = suppress_column([3, 50, 60], total=False)
    assert [result.shown(r, 0) for r in range(3)] == ["<5", "50", "60"]


def test_a_count_hidden_in_one_table_is_hidden_in_every_table() -> None:
    from uketome.stats.selectors import StatTable, _publish

    by_channel = StatTable(
        "channel", "by channel", ["phone", "chat", "mail"], ["FY"], [[10], [3], [20]]
    )
    by_channel.facts = {(0, 0): "channel:phone", (3, 0): "contacts"}
    service = StatTable(
        "service", "service", ["answered", "other"], ["FY"], [[10], [50]], col_totals=False
    )
    service.facts = {(0, 0): "channel:phone"}
    hidden = _publish([by_channel, service])
    # 3 is hidden; its partner is the next smallest, 10 (phone), so phone is hidden in the
    # service table too, where nothing else would have hidden it.
    assert [by_channel.suppressed.shown(r, 0) for r in range(4)] == ["x", "<5", "20", "33"]
    assert [service.suppressed.shown(r, 0) for r in range(2)] == ["x", "50"]
    assert hidden == {"channel:phone"}
