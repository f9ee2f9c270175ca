"""Small-cell suppression (小さな数の秘匿) for published tables.

A count from 1 to 4 is *primary*-suppressed and shown as "<5". Then, so that no such count
can be worked out from the totals and the other cells, more cells are *complementary*-
suppressed and shown as "x" (a count that is hidden; it may be large). Zeros are shown.

The model. A table is R x C counts, with row totals and/or column totals published (the
grand total is published when either is). Written as the (R+1) x (C+1) "augmented" table
with the margins negated, every row and every column sums to zero, so the counts form a
circulation on the bipartite graph rows x columns. Someone reading the table knows every
visible cell exactly, a "<5" cell is in 1..4, and an "x" cell is at least 5 (we never hide
a 0 or a small count as "x", so a careful reader can know that much). A hidden cell is
*determined* when every table consistent with what is shown gives it the same value.

``determined_cells`` decides this exactly: a hidden cell can take another value iff the
current table has a residual cycle through it (standard circulation theory: the difference
of two integer solutions splits into cycles that can each be applied to the first). It is
a graph search, not a solver. ``suppress`` adds complementary cells (smallest first, in the
lines of a determined cell) until no hidden cell is determined.

Unpublished margins are handled as hidden cells with no bounds at all. When even hiding
every cell leaves a count that follows (four "<5" cells whose total is "<5" are all 1), the
whole table is withheld ("*").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

THRESHOLD = 5  # counts 1..THRESHOLD-1 are hidden
INF = 10**18

VISIBLE = ""
PRIMARY = "primary"
COMPLEMENTARY = "complementary"
UNPUBLISHED = "unpublished"
WITHHELD = "withheld"  # the whole table is too small to show safely

Pos = tuple[int, int]  # (row, col) in the augmented table; R and C are the totals


@dataclass
class Suppressed:
    """The outcome: ``status[r][c]`` for the augmented (R+1) x (C+1) table (last row and
    column are the totals); each is VISIBLE, PRIMARY, COMPLEMENTARY or UNPUBLISHED."""

    values: list[list[int]]  # augmented values (totals included)
    status: list[list[str]]
    row_totals: bool
    col_totals: bool

    @property
    def withheld(self) -> bool:
        return any(WITHHELD in row for row in self.status)

    @property
    def rows(self) -> int:
        return len(self.values) - 1

    @property
    def cols(self) -> int:
        return len(self.values[0]) - 1

    def hidden(self, r: int, c: int) -> bool:
        return self.status[r][c] in (PRIMARY, COMPLEMENTARY)

    def shown(self, r: int, c: int) -> str:
        """What a reader sees: the number, "<5", "x", or "" for an unpublished margin."""
        status = self.status[r][c]
        if status == PRIMARY:
            return f"<{THRESHOLD}"
        if status == COMPLEMENTARY:
            return "x"
        if status == UNPUBLISHED:
            return ""
        if status == WITHHELD:
            return "*"
        return f"{self.values[r][c]:,}"

    def shown_value(self, r: int, c: int) -> int | str | None:
        """For spreadsheets: the int when visible, else the mark (None if unpublished)."""
        status = self.status[r][c]
        if status == UNPUBLISHED:
            return None
        if status == VISIBLE:
            return self.values[r][c]
        return self.shown(r, c)


@dataclass
class _Cell:
    value: int
    low: int
    high: int
    sign: int
    edges: list[int] = field(default_factory=list)


def augment(values: Sequence[Sequence[int]]) -> list[list[int]]:
    """The table with its row totals, column totals and grand total added."""
    rows = [list(row) for row in values]
    cols = len(rows[0]) if rows else 0
    for row in rows:
        row.append(sum(row))
    rows.append([sum(row[c] for row in rows) for c in range(cols + 1)])
    return rows


def _bounds(value: int, status: str) -> tuple[int, int]:
    """What a reader knows about a cell's value."""
    if status == VISIBLE:
        return value, value
    if status == PRIMARY:
        return 1, THRESHOLD - 1
    if status == COMPLEMENTARY:
        return THRESHOLD, INF
    return 0, INF  # an unpublished margin, a withheld table


def determined_cells(values: list[list[int]], status: list[list[str]]) -> list[Pos]:
    """Hidden cells (PRIMARY or COMPLEMENTARY) whose value follows from what is shown."""
    n_rows, n_cols = len(values), len(values[0])
    # Arcs of the residual graph: nodes 0..n_rows-1 are rows, n_rows.. are columns.
    arcs: dict[int, list[tuple[int, Pos]]] = {}
    hidden: list[Pos] = []
    for r in range(n_rows):
        for c in range(n_cols):
            st = status[r][c]
            if st == VISIBLE:
                continue
            margin = (r == n_rows - 1) != (c == n_cols - 1)
            sign = -1 if margin else 1
            x = values[r][c]
            low, high = _bounds(x, st)
            z, z_low, z_high = sign * x, *(sorted((sign * low, sign * high)))
            if z < z_high:
                arcs.setdefault(r, []).append((n_rows + c, (r, c)))
            if z > z_low:
                arcs.setdefault(n_rows + c, []).append((r, (r, c)))
            if st in (PRIMARY, COMPLEMENTARY):
                hidden.append((r, c))

    def reachable(start: int, goal: int, skip: Pos) -> bool:
        seen = {start}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt, pos in arcs.get(node, ()):
                if pos == skip or nxt in seen:
                    continue
                if nxt == goal:
                    return True
                seen.add(nxt)
                queue.append(nxt)
        return False

    found = []
    for r, c in hidden:
        row_node, col_node = r, n_rows + c
        can_rise = any(pos == (r, c) for _n, pos in arcs.get(row_node, ()))
        can_fall = any(pos == (r, c) for _n, pos in arcs.get(col_node, ()))
        movable = (can_rise and reachable(col_node, row_node, (r, c))) or (
            can_fall and reachable(row_node, col_node, (r, c))
        )
        if not movable:
            found.append((r, c))
    return found


def suppress(
    values: Sequence[Sequence[int]],
    *,
    row_totals: bool = True,
    col_totals: bool = True,
    force: Iterable[Pos] = (),
) -> Suppressed:
    """Hide small counts and enough other cells that none of them can be worked out.

    ``values`` are the inner cells (no totals). Published margins are checked too: a small
    total is hidden like any cell. ``force`` names cells (augmented positions) to hide
    because the same count is hidden in another table.
    """
    if not values or not values[0]:
        return Suppressed([[0]], [[VISIBLE]], row_totals, col_totals)
    table = augment(values)
    n_rows, n_cols = len(table), len(table[0])
    status = [[VISIBLE] * n_cols for _ in range(n_rows)]
    grand = row_totals or col_totals
    for r in range(n_rows):
        for c in range(n_cols):
            is_row_total = c == n_cols - 1 and r < n_rows - 1
            is_col_total = r == n_rows - 1 and c < n_cols - 1
            is_grand = r == n_rows - 1 and c == n_cols - 1
            if (
                (is_row_total and not row_totals)
                or (is_col_total and not col_totals)
                or (is_grand and not grand)
            ):
                status[r][c] = UNPUBLISHED
            elif 0 < table[r][c] < THRESHOLD:
                status[r][c] = PRIMARY
    for r, c in force:
        if status[r][c] == VISIBLE and table[r][c] >= THRESHOLD:
            status[r][c] = COMPLEMENTARY
    while True:
        stuck = determined_cells(table, status)
        if not stuck:
            break
        candidate = _complement(table, status, stuck)
        if candidate is None:
            # Everything is hidden and still some counts follow (e.g. four "<5" adding up
            # to a total "<5": all are 1). Show nothing of this table.
            status = [
                [UNPUBLISHED if s == UNPUBLISHED else WITHHELD for s in row] for row in status
            ]
            break
        status[candidate[0]][candidate[1]] = COMPLEMENTARY
    return Suppressed(table, status, row_totals, col_totals)


def _complement(table: list[list[int]], status: list[list[str]], stuck: list[Pos]) -> Pos | None:
    """The next cell to hide: an inner cell before a total, the one that leaves the fewest
    cells determined, then the smallest count. Falls back to the smallest visible cell in
    the lines of the first determined cell when no single cell helps."""
    n_rows, n_cols = len(table), len(table[0])

    def margin(p: Pos) -> bool:
        return p[0] == n_rows - 1 or p[1] == n_cols - 1

    pool = [
        (i, j)
        for i in range(n_rows)
        for j in range(n_cols)
        if status[i][j] == VISIBLE and table[i][j] > 0
    ]
    if not pool:
        return None
    best: tuple[tuple[bool, int, int], Pos] | None = None
    for pos in pool:
        status[pos[0]][pos[1]] = COMPLEMENTARY
        left = len(determined_cells(table, status))
        status[pos[0]][pos[1]] = VISIBLE
        if left >= len(stuck):
            continue
        key = (margin(pos), left, table[pos[0]][pos[1]])
        if best is None or key < best[0]:
            best = (key, pos)
    if best is not None:
        return best[1]
    r, c = stuck[0]
    near = [p for p in pool if p[0] == r or p[1] == c] or pool
    return min(near, key=lambda p: (margin(p), table[p[0]][p[1]]))


def suppress_column(values: Sequence[int], *, total: bool = True) -> Suppressed:
    """A one-column table (categories down, one count each) with or without its total."""
    return suppress([[v] for v in values], row_totals=False, col_totals=total)
