"""Charts as SVG made on the server: no script, no style attribute (CSP), a <title> and
<desc> for screen readers, and the same numbers in the table next to it.

Suppressed cells are never drawn as bars: their label reads "<5" or "x" with no bar, so a
chart shows nothing the table does not.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from uketome.stats.selectors import StatTable

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 190
PLOT_WIDTH = 360
VALUE_WIDTH = 70


def _svg(width: int, height: int, title: str, desc: str, body: list[str], ident: str) -> SafeString:
    t, d = f"chart-{ident}-title", f"chart-{ident}-desc"
    return mark_safe(  # noqa: S308 - every text below goes through escape()
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{t} {d}"><title id="{t}">{escape(title)}</title>'
        f'<desc id="{d}">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def bar_chart(table: StatTable, column: int = 0, limit: int = 20) -> SafeString:
    """Horizontal bars of one column (the first: this year)."""
    rows = list(range(min(len(table.row_labels), limit)))
    values = [table.visible(r, column) for r in rows]
    top = max((v for v in values if v is not None), default=0) or 1
    height = len(rows) * (BAR_HEIGHT + GAP) + GAP
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    body: list[str] = []
    for i, r in enumerate(rows):
        y = GAP + i * (BAR_HEIGHT + GAP)
        mid = y + BAR_HEIGHT * 0.7
        label = table.row_labels[r]
        body.append(
            f'<text class="chart-label" x="{LABEL_WIDTH - 6}" y="{mid:.1f}" '
            f'text-anchor="end">{escape(label[:22])}</text>'
        )
        value = values[i]
        if value is not None and value > 0:
            w = max(1.0, PLOT_WIDTH * value / top)
            body.append(
                f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{y}" width="{w:.1f}" '
                f'height="{BAR_HEIGHT}"><title>{escape(label)}: {value:,}</title></rect>'
            )
            shown = f"{value:,}"
            x = LABEL_WIDTH + w + 4
        else:
            shown = table.suppressed.shown(r, column)
            x = LABEL_WIDTH + 4
        body.append(f'<text class="chart-value" x="{x:.1f}" y="{mid:.1f}">{escape(shown)}</text>')
    desc = _("Bar chart; the numbers are in the table below.")
    return _svg(width, height, table.title, desc, body, table.key)


def column_chart(table: StatTable, column: int = 0) -> SafeString:
    """Vertical columns (months, weekdays, hours) of one column of the table."""
    n = len(table.row_labels)
    values = [table.visible(r, column) for r in range(n)]
    top = max((v for v in values if v is not None), default=0) or 1
    plot_h, base = 160, 190
    step = max(18, min(48, 640 // max(n, 1)))
    width = step * n + 20
    body = [f'<line class="chart-axis" x1="10" y1="{base}" x2="{width - 10}" y2="{base}"/>']
    for r, value in enumerate(values):
        x = 10 + r * step
        label = table.row_labels[r]
        if value is not None and value > 0:
            h = max(1.0, plot_h * value / top)
            body.append(
                f'<rect class="chart-bar" x="{x + 2}" y="{base - h:.1f}" width="{step - 4}" '
                f'height="{h:.1f}"><title>{escape(label)}: {value:,}</title></rect>'
            )
        elif value is None:
            body.append(
                f'<text class="chart-value" x="{x + step / 2:.1f}" y="{base - 4}" '
                f'text-anchor="middle">{escape(table.suppressed.shown(r, column))}</text>'
            )
        short = label.split(":")[0].replace("時台", "")
        body.append(
            f'<text class="chart-label" x="{x + step / 2:.1f}" y="{base + 14}" '
            f'text-anchor="middle">{escape(short[:4])}</text>'
        )
    desc = _("Column chart; the numbers are in the table below.")
    return _svg(width, base + 22, table.title, desc, body, table.key)


def chart_for(table: StatTable) -> SafeString | None:
    if table.chart == "bar" and table.row_labels:
        return bar_chart(table)
    if table.chart == "column" and table.row_labels:
        return column_chart(table)
    return None
