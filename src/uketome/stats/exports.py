"""Downloads of a report: Excel (one sheet per table, Japanese headers) and CSV (UTF-8 with
a BOM so Excel opens it). Only the report's tables: never a contact, never free text.
A published report's files carry the suppressed figures ("<5", "x") as text."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from uketome.stats.selectors import Report, StatTable

SHEET_NAME_BAD = re.compile(r"[\[\]\*\?/\\:]")


def _cell(table: StatTable, r: int, c: int) -> Any:
    return table.suppressed.shown_value(r, c)


def table_rows(table: StatTable) -> list[list[Any]]:
    """The table as rows: a header, the rows, the totals (values, or marks as text)."""
    grid = table.suppressed
    header: list[Any] = [_("Item"), *table.col_labels]
    if table.row_totals:
        header.append(_("Total"))
    if table.change:
        header.append(_("Change against the previous year"))
    out = [header]
    for r, label in enumerate(table.row_labels):
        row: list[Any] = [label, *(_cell(table, r, c) for c in range(len(table.col_labels)))]
        if table.row_totals:
            row.append(_cell(table, r, grid.cols))
        if table.change:
            row.append(table._change(r))
        out.append(row)
    if table.col_totals:
        row = [_("Total"), *(_cell(table, grid.rows, c) for c in range(len(table.col_labels)))]
        if table.row_totals:
            row.append(_cell(table, grid.rows, grid.cols))
        if table.change:
            row.append(table._change(grid.rows))
        out.append(row)
    return out


def _legend(report: Report) -> list[str]:
    lines = [report.title]
    if report.published:
        lines.append(
            _(
                "Published figures: counts of 1 to 4 are shown as <5; x is a count hidden so "
                "that small counts cannot be worked out."
            )
        )
        lines.append(_("* marks a table too small to be shown safely."))
    else:
        lines.append(_("Exact counts, for the secretariat only: not for publication."))
    lines += report.notes
    return lines


def workbook(report: Report) -> bytes:
    book = Workbook()
    about = book.active
    if about is None:  # a new workbook always has one sheet
        about = book.create_sheet()
    about.title = _("About")
    for line in _legend(report):
        about.append([line])
    for label, value in report.headline:
        about.append([label, value])
    for item in report.not_recorded:
        about.append([_("Not yet recorded"), item])
    used: set[str] = {about.title}
    for table in report.tables:
        name = SHEET_NAME_BAD.sub(" ", table.title)[:31]
        base, n = name, 2
        while name in used:
            suffix = f" {n}"
            name = base[: 31 - len(suffix)] + suffix
            n += 1
        used.add(name)
        sheet = book.create_sheet(name)
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True)
        for row in table_rows(table):
            sheet.append(row)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        if table.note:
            sheet.append([])
            sheet.append([table.note])
        sheet.column_dimensions["A"].width = 32
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(report: Report) -> bytes:
    """Every table one after another, a blank line between; UTF-8 with a BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for line in _legend(report):
        writer.writerow([line])
    for table in report.tables:
        writer.writerow([])
        writer.writerow([table.title])
        for row in table_rows(table):
            writer.writerow(["" if v is None else v for v in row])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")
