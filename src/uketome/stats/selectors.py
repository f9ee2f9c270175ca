"""Reads for the statistics pages and the annual report.

``build_report(filters, published=...)`` turns the rollup (``MonthlyCount``) into the
report's tables. ``published=True`` (government partners, the annual report, publication
exports) runs every table through small-cell suppression; the secretariat may see exact
counts (``stats.view_exact_counts``). No table ever carries free text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Sum
from django.utils.dates import MONTHS, WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from uketome.core.dates import TOKYO, fiscal_year, fiscal_year_label
from uketome.core.permissions import view_exact_counts, view_statistics
from uketome.helpline.models import (
    Channel,
    Contact,
    Escalation,
    EscalationStatus,
    Line,
    RepeatContact,
    TaxonomyTerm,
    TaxonomyVersion,
    TermKind,
)
from uketome.network.models import Site
from uketome.stats import sources
from uketome.stats.models import MonthlyCount
from uketome.stats.suppression import (
    UNPUBLISHED,
    VISIBLE,
    Suppressed,
    augment,
    suppress,
)

FIRST_YEAR = 2000
LAST_YEAR = 2100
MIN_FOR_AVERAGE = 5  # an average is shown only over at least this many contacts


@dataclass(frozen=True)
class StatsFilters:
    """A fiscal year, optionally a range of its months (1..12 = April..March), one line
    and one site."""

    year: int
    first_month: int = 1
    last_month: int = 12
    line: int | None = None
    site: int | None = None

    def months(self) -> list[date]:
        return [fiscal_month(self.year, i) for i in range(self.first_month, self.last_month + 1)]

    def previous(self) -> StatsFilters:
        return StatsFilters(self.year - 1, self.first_month, self.last_month, self.line, self.site)

    def bounds(self) -> tuple[datetime, datetime]:
        first = fiscal_month(self.year, self.first_month)
        after = fiscal_month(self.year, self.last_month + 1) if self.last_month < 12 else None
        end = after or date(self.year + 1, 4, 1)
        return (
            datetime(first.year, first.month, 1, tzinfo=TOKYO),
            datetime(end.year, end.month, 1, tzinfo=TOKYO),
        )

    def period(self) -> sources.Period:
        start, end = self.bounds()
        return sources.Period(start, end, self.line, self.site)


def fiscal_month(year: int, index: int) -> date:
    """The first day of the ``index``-th month (1 = April) of fiscal year ``year``."""
    month = (index + 2) % 12 + 1
    return date(year + (1 if month < 4 else 0), month, 1)


def can_view(user: Any) -> bool:
    return view_statistics.test(user)


def sees_exact(user: Any) -> bool:
    return view_exact_counts.test(user)


def years_with_data() -> list[int]:
    months = MonthlyCount.objects.filter(dim="contacts").values_list("month", flat=True).distinct()
    return sorted({fiscal_year(m) for m in months}, reverse=True)


# --- Tables ---------------------------------------------------------------------------


@dataclass
class StatTable:
    """One table of the report: rows x columns of counts, with its suppression applied."""

    key: str
    title: str
    row_labels: list[str]
    col_labels: list[str]
    values: list[list[int]]
    row_totals: bool = False
    col_totals: bool = True
    note: str = ""
    chart: str = ""  # "bar" (horizontal), "column" (vertical) or ""
    grid: Suppressed | None = None
    change: bool = False  # a column with the change against the previous year
    # Cells (augmented positions; the totals row is len(row_labels)) holding a count that
    # other tables show too, by name: hidden in one table, hidden in all.
    facts: dict[tuple[int, int], str] = field(default_factory=dict)

    @property
    def suppressed(self) -> Suppressed:
        if self.grid is None:
            raise RuntimeError(f"table {self.key} has no figures yet")
        return self.grid

    @property
    def rows(self) -> list[dict[str, Any]]:
        grid = self.suppressed
        out = []
        for r, label in enumerate(self.row_labels):
            cells = [grid.shown(r, c) for c in range(len(self.col_labels))]
            total = grid.shown(r, grid.cols) if self.row_totals else None
            out.append(
                {
                    "label": label,
                    "cells": cells,
                    "total": total,
                    "change": self._change(r) if self.change else None,
                }
            )
        return out

    @property
    def totals(self) -> dict[str, Any] | None:
        grid = self.suppressed
        if not self.col_totals:
            return None
        return {
            "cells": [grid.shown(grid.rows, c) for c in range(len(self.col_labels))],
            "total": grid.shown(grid.rows, grid.cols) if self.row_totals else None,
            "change": self._change(grid.rows) if self.change else None,
        }

    def _change(self, r: int) -> str:
        """This year against the previous (columns 0 and 1), when both are shown."""
        grid = self.suppressed
        if grid.status[r][0] != VISIBLE or grid.status[r][1] != VISIBLE:
            return ""
        now, before = grid.values[r][0], grid.values[r][1]
        if before == 0:
            return ""
        return f"{(now - before) / before * 100:+.1f}%"

    def visible(self, r: int, c: int = 0) -> int | None:
        """The count when shown, else None (for charts)."""
        grid = self.suppressed
        return grid.values[r][c] if grid.status[r][c] == VISIBLE else None


def exact(values: Sequence[Sequence[int]], *, row_totals: bool, col_totals: bool) -> Suppressed:
    table = augment(values) if values and values[0] else [[0]]
    n_rows, n_cols = len(table), len(table[0])
    status = [[VISIBLE] * n_cols for _ in range(n_rows)]
    for r in range(n_rows):
        for c in range(n_cols):
            if (c == n_cols - 1 and r < n_rows - 1 and not row_totals) or (
                r == n_rows - 1 and c < n_cols - 1 and not col_totals
            ):
                status[r][c] = UNPUBLISHED
            if r == n_rows - 1 and c == n_cols - 1 and not (row_totals or col_totals):
                status[r][c] = UNPUBLISHED
    return Suppressed(table, status, row_totals, col_totals)


# --- Reading the rollup ---------------------------------------------------------------


class _Terms:
    """Every taxonomy term once, and the current version's term for any of them."""

    def __init__(self) -> None:
        self.by_id: dict[int, TaxonomyTerm] = {
            t.pk: t for t in TaxonomyTerm.objects.select_related("version")
        }
        current = TaxonomyVersion.objects.filter(is_current=True).first()
        self.current_version = current
        self.seen_versions: set[int] = set()

    def current(self, key: str) -> TaxonomyTerm | None:
        if not key or not key.isdigit():
            return None
        term = self.by_id.get(int(key))
        if term is None:
            return None
        self.seen_versions.add(term.version_id)
        if term.current_id and term.current_id in self.by_id:
            return self.by_id[term.current_id]
        return term

    def of_kind(self, kind: str) -> list[TaxonomyTerm]:
        if self.current_version is None:
            return []
        return sorted(
            (
                t
                for t in self.by_id.values()
                if t.kind == kind and t.version_id == self.current_version.pk
            ),
            key=lambda t: t.sort_order,
        )


def _scope(filters: StatsFilters) -> Any:
    queryset = MonthlyCount.objects.filter(month__in=filters.months())
    if filters.line:
        queryset = queryset.filter(line_id=filters.line)
    if filters.site:
        queryset = queryset.filter(site_id=filters.site)
    return queryset


@dataclass
class _Figures:
    dims: dict[str, dict[str, int]]
    by: dict[str, dict[Any, int]]  # "month", "line", "site", "channel" for dim contacts


def _read(filters: StatsFilters) -> _Figures:
    dims: dict[str, dict[str, int]] = defaultdict(dict)
    for dim, key, n in (
        _scope(filters).values_list("dim", "key").order_by().annotate(total=Sum("n"))
    ):
        dims[dim][key] = int(n)
    by: dict[str, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    for month, line, site, channel, dim, n in (
        _scope(filters)
        .filter(dim__in=["contacts", "conv"])
        .values_list("month", "line_id", "site_id", "channel", "dim")
        .order_by()
        .annotate(total=Sum("n"))
    ):
        prefix = "" if dim == "contacts" else "conv_"
        by[prefix + "month"][month] += n
        by[prefix + "line"][line] += n
        by[prefix + "site"][site] += n
        by[prefix + "channel"][channel] += n
    for line, key, n in (
        _scope(filters)
        .filter(dim="outcome", channel=Channel.PHONE)
        .values_list("line_id", "key")
        .order_by()
        .annotate(total=Sum("n"))
    ):
        by["phone"][(line, key)] += n
    return _Figures(dict(dims), by)


# --- The report -------------------------------------------------------------------------


@dataclass
class Report:
    filters: StatsFilters
    published: bool
    title: str
    total: int
    previous_total: int
    tables: list[StatTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    headline: list[tuple[str, str]] = field(default_factory=list)
    not_recorded: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.total == 0

    def table(self, key: str) -> StatTable:
        return next(t for t in self.tables if t.key == key)


def build_report(filters: StatsFilters, *, published: bool) -> Report:
    """The whole report for ``filters``: every table, suppressed when ``published``."""
    terms = _Terms()
    now = _read(filters)
    before = _read(filters.previous())
    total = now.dims.get("contacts", {}).get("", 0)
    previous_total = before.dims.get("contacts", {}).get("", 0)
    title = fiscal_year_label(filters.year)
    report = Report(filters, published, title, total, previous_total)
    if report.empty:
        return report
    this_label = fiscal_year_label(filters.year)
    prev_label = fiscal_year_label(filters.year - 1)
    years = [this_label, prev_label]
    tables: list[StatTable] = []

    def two_years(
        key: str, title: str, labels: list[str], now_counts: list[int], prev_counts: list[int],
        **kw: Any,
    ) -> None:  # fmt: skip
        tables.append(
            StatTable(
                key,
                title,
                labels,
                years,
                [[a, b] for a, b in zip(now_counts, prev_counts, strict=True)],
                change=True,
                **kw,
            )
        )

    # When: month, weekday, hour.
    months = filters.months()
    two_years(
        "month",
        _("Contacts by month"),
        [str(MONTHS[m.month]) for m in months],
        [now.by["month"].get(m, 0) for m in months],
        [before.by["month"].get(date(m.year - 1, m.month, 1), 0) for m in months],
        chart="column",
    )
    weekdays = [str(WEEKDAYS_ABBR[i]) for i in range(7)]
    tables.append(
        StatTable(
            "weekday",
            _("Contacts by day of the week"),
            weekdays,
            [this_label],
            [[now.dims.get("weekday", {}).get(str(i), 0)] for i in range(7)],
            chart="column",
        )
    )
    tables.append(
        StatTable(
            "hour",
            _("Contacts by hour of the day"),
            [_("%(hour)s:00-") % {"hour": h} for h in range(24)],
            [this_label],
            [[now.dims.get("hour", {}).get(str(h), 0)] for h in range(24)],
            chart="column",
            note=_("Hours in Japan time; a contact counts in the hour it began."),
        )
    )

    # Where: line, site, channel.
    lines = list(Line.objects.order_by("sort_order", "name"))
    shown_lines = [ln for ln in lines if now.by["line"].get(ln.pk) or before.by["line"].get(ln.pk)]
    two_years(
        "line",
        _("Contacts by line"),
        [ln.name for ln in shown_lines],
        [now.by["line"].get(ln.pk, 0) for ln in shown_lines],
        [before.by["line"].get(ln.pk, 0) for ln in shown_lines],
        chart="bar",
    )
    sites = list(Site.objects.order_by("sort_order", "name"))
    site_rows = [(s.pk, s.name) for s in sites] + [(0, _("No site"))]
    site_rows = [
        (pk, n) for pk, n in site_rows if now.by["site"].get(pk) or before.by["site"].get(pk)
    ]
    two_years(
        "site",
        _("Contacts by site"),
        [name for _pk, name in site_rows],
        [now.by["site"].get(pk, 0) for pk, _n in site_rows],
        [before.by["site"].get(pk, 0) for pk, _n in site_rows],
        chart="bar",
    )
    channels = [c for c in Channel if now.by["channel"].get(c) or before.by["channel"].get(c)]
    two_years(
        "channel",
        _("Contacts by channel"),
        [str(c.label) for c in channels],
        [now.by["channel"].get(c, 0) for c in channels],
        [before.by["channel"].get(c, 0) for c in channels],
        chart="bar",
    )
    for i, c in enumerate(channels):
        tables[-1].facts[(i, 0)] = f"channel:{c.value}"
        tables[-1].facts[(i, 1)] = f"channel_prev:{c.value}"

    # Phone: answered calls by outcome and line.
    outcomes = terms.of_kind(TermKind.OUTCOME)
    phone_counts: dict[tuple[int, int | None], int] = defaultdict(int)
    for (line_id, key), n in now.by["phone"].items():
        term = terms.current(key)
        phone_counts[(line_id, term.pk if term else None)] += n
    phone_lines = [ln for ln in lines if any(k[0] == ln.pk for k in phone_counts)]
    outcome_cols: list[TaxonomyTerm | None] = [*outcomes]
    if any(k[1] is None for k in phone_counts):
        outcome_cols.append(None)
    if phone_lines:
        tables.append(
            StatTable(
                "phone",
                _("Phone calls answered, by outcome"),
                [ln.name for ln in phone_lines],
                [t.label if t else _("Not recorded") for t in outcome_cols],
                [
                    [phone_counts.get((ln.pk, t.pk if t else None), 0) for t in outcome_cols]
                    for ln in phone_lines
                ],
                row_totals=True,
                facts={
                    (len(phone_lines), len(outcome_cols)): f"channel:{Channel.PHONE.value}",
                    **{
                        (len(phone_lines), j): "phone_conv"
                        for j, t in enumerate(outcome_cols)
                        if t is not None and t.attrs.get("conversation")
                    },
                },
                note=_(
                    "A conversation (会話成立) is a call where a child talked with a listener; "
                    "the other outcomes are calls answered without a conversation."
                ),
            )
        )
    attempts = sources.phone_attempts(filters.period())
    answered = now.by["channel"].get(Channel.PHONE, 0)
    conversations = sum(
        n
        for (_line, term_id), n in phone_counts.items()
        if term_id and terms.by_id[term_id].attrs.get("conversation")
    )
    if attempts is None:
        report.not_recorded.append(
            _("Phone attempts (calls that reached the line, answered or not)")
        )

    # Chat and mail.
    chat = sources.chat_waiting_times(filters.period())
    if chat is None:
        report.not_recorded.append(
            _("Chat requests, children who gave up waiting, and waiting times")
        )
    mail = sources.mail_reply_times(filters.period())
    if mail is None:
        report.not_recorded.append(_("Letters received and reply times"))
    service_rows: list[tuple[str, int, str]] = [
        (_("Phone calls answered"), answered, f"channel:{Channel.PHONE.value}"),
        (_("Phone conversations"), conversations, "phone_conv"),
    ]
    if attempts is not None:
        service_rows.insert(0, (_("Phone attempts"), attempts, ""))
    service_rows.append(
        (
            _("Chats handled"),
            now.by["channel"].get(Channel.CHAT, 0),
            f"channel:{Channel.CHAT.value}",
        )
    )
    if chat is not None:
        service_rows += [
            (_("Chat requests"), chat.requests, ""),
            (_("Children who gave up waiting"), chat.gave_up, ""),
        ]
    service_rows.append(
        (
            _("Letters answered"),
            now.by["channel"].get(Channel.MAIL, 0),
            f"channel:{Channel.MAIL.value}",
        )
    )
    if mail is not None:
        service_rows += [
            (_("Letters received"), mail.received, ""),
            (_("Letters answered later than the line's target"), mail.over_target, ""),
        ]
    tables.append(
        StatTable(
            "service",
            _("Calls, chats and letters"),
            [label for label, _n, _f in service_rows],
            [this_label],
            [[n] for _label, n, _f in service_rows],
            col_totals=False,
            facts={(i, 0): fact for i, (_l, _n, fact) in enumerate(service_rows) if fact},
            note=_("Each figure is a count of its own; they do not add up."),
        )
    )
    if chat is not None:
        tables.append(
            StatTable(
                "chat_waiting",
                _("Waiting time of chats handled"),
                [b for b, _n in chat.waiting.bands],
                [this_label],
                [[n] for _b, n in chat.waiting.bands],
                chart="bar",
            )
        )
    if mail is not None:
        tables.append(
            StatTable(
                "mail_reply",
                _("Time to reply to letters"),
                [b for b, _n in mail.reply_time.bands],
                [this_label],
                [[n] for _b, n in mail.reply_time.bands],
                chart="bar",
            )
        )

    # Who: age band x gender (conversations).
    ages = terms.of_kind(TermKind.AGE_BAND)
    genders = terms.of_kind(TermKind.GENDER)
    grid: dict[tuple[int | None, int | None], int] = defaultdict(int)
    for key, n in now.dims.get("age_gender", {}).items():
        age_key, _sep, gender_key = key.partition(":")
        age_term, gender_term = terms.current(age_key), terms.current(gender_key)
        grid[(age_term.pk if age_term else None, gender_term.pk if gender_term else None)] += n
    age_rows: list[TaxonomyTerm | None] = [t for t in ages if any(k[0] == t.pk for k in grid)]
    if any(k[0] is None for k in grid):
        age_rows.append(None)
    gender_cols: list[TaxonomyTerm | None] = list(genders)
    if any(k[1] is None for k in grid):
        gender_cols.append(None)
    tables.append(
        StatTable(
            "age_gender",
            _("Conversations by age band and gender"),
            [t.label if t else _("Not recorded") for t in age_rows],
            [t.label if t else _("Not recorded") for t in gender_cols],
            [
                [grid.get((a.pk if a else None, g.pk if g else None), 0) for g in gender_cols]
                for a in age_rows
            ],
            row_totals=True,
        )
    )

    # What: topics (all, ranked), CHI categories, feelings (several per contact).
    def ranked(dim: str, kind: str) -> tuple[list[str], list[int], list[int]]:
        counts_now: dict[int, int] = defaultdict(int)
        counts_before: dict[int, int] = defaultdict(int)
        for target, figures in ((counts_now, now), (counts_before, before)):
            for key, n in figures.dims.get(dim, {}).items():
                term = terms.current(key)
                if term is not None:
                    target[term.pk] += n
        order = sorted(
            {*counts_now, *counts_before},
            key=lambda pk: (
                -counts_now.get(pk, 0),
                -counts_before.get(pk, 0),
                terms.by_id[pk].sort_order,
            ),
        )
        return (
            [terms.by_id[pk].label for pk in order],
            [counts_now.get(pk, 0) for pk in order],
            [counts_before.get(pk, 0) for pk in order],
        )

    conversations_all = now.dims.get("conv", {}).get("", 0)
    labels, a, b = ranked("topic", TermKind.TOPIC)
    multi_note = _(
        "A conversation may have several; the counts do not add up to the number of "
        "conversations (%(n)s)."
    )
    two_years(
        "topics",
        _("Topics (all, most frequent first)"),
        labels,
        a,
        b,
        col_totals=False,
        chart="bar",
        note=multi_note % {"n": f"{conversations_all:,}"},
    )
    two_years(
        "topics_top10",
        _("Topics: the top ten"),
        labels[:10],
        a[:10],
        b[:10],
        col_totals=False,
        chart="bar",
    )
    labels, a, b = ranked("feeling", TermKind.FEELING)
    two_years(
        "feelings",
        _("Feelings the listeners perceived"),
        labels,
        a,
        b,
        col_totals=False,
        note=multi_note % {"n": f"{conversations_all:,}"},
    )

    # Single-valued: main concern, relationship, setting, risk, repeat (conversations).
    def single(key: str, title: str, dim: str, kind: str) -> None:
        counts: dict[int | None, int] = defaultdict(int)
        prev: dict[int | None, int] = defaultdict(int)
        for target, figures in ((counts, now), (prev, before)):
            for k, n in figures.dims.get(dim, {}).items():
                term = terms.current(k)
                target[term.pk if term else None] += n
        rows: list[TaxonomyTerm | None] = [
            t for t in terms.of_kind(kind) if counts.get(t.pk) or prev.get(t.pk)
        ]
        if counts.get(None) or prev.get(None):
            rows.append(None)
        two_years(
            key,
            title,
            [t.label if t else _("Not recorded") for t in rows],
            [counts.get(t.pk if t else None, 0) for t in rows],
            [prev.get(t.pk if t else None, 0) for t in rows],
            chart="bar",
        )

    single("main_concern", _("Main concern (主訴)"), "main_concern", TermKind.MAIN_CONCERN)
    single("relationship", _("Relationship"), "relationship", TermKind.RELATIONSHIP)
    single("setting", _("Setting"), "setting", TermKind.SETTING)
    single("risk", _("Risk level"), "risk", TermKind.RISK_LEVEL)

    repeat_codes = [RepeatContact.FIRST, RepeatContact.REPEAT, RepeatContact.UNKNOWN]
    two_years(
        "repeat",
        _("First or repeat contact"),
        [str(c.label) for c in repeat_codes],
        [now.dims.get("repeat", {}).get(c.value, 0) for c in repeat_codes],
        [before.dims.get("repeat", {}).get(c.value, 0) for c in repeat_codes],
    )

    # Escalations (read live: a few per hundred contacts).
    tables.append(_escalations(filters, terms, this_label))

    # Child Helpline International's categories.
    chi_counts: dict[int | None, int] = defaultdict(int)
    for key, n in now.dims.get("chi", {}).items():
        term = terms.current(key)
        chi_counts[term.pk if term else None] += n
    chi_terms = terms.of_kind(TermKind.CHI_CATEGORY)
    non_counselling = total - conversations_all
    chi_rows = []
    for term in chi_terms:
        n = chi_counts.get(term.pk, 0)
        if term.code == "non_counselling":
            n += non_counselling
        chi_rows.append((f"{term.label_en} ({term.label})", n))
    chi_rows.append((_("No topic recorded"), chi_counts.get(None, 0)))
    tables.append(
        StatTable(
            "chi",
            _("Child Helpline International categories"),
            [label for label, _n in chi_rows],
            [this_label],
            [[n] for _label, n in chi_rows],
            col_totals=False,
            note=_(
                "Each topic maps to one of CHI's 11 categories; a conversation counts once "
                "in each category its topics belong to. Calls without a conversation "
                "(silent, hung up, pranks, tests, wrong numbers, adult callers) count as "
                "non-counselling contacts."
            ),
        )
    )

    for table in tables:
        rows = len(table.row_labels)
        if table.key in {"month", "weekday", "hour", "line", "site", "channel"}:
            table.facts[(rows, 0)] = "contacts"
            if table.change:
                table.facts[(rows, 1)] = "contacts_prev"
        elif table.key in {"main_concern", "relationship", "setting", "risk", "repeat"}:
            table.facts[(rows, 0)] = "conv"
            table.facts[(rows, 1)] = "conv_prev"
        elif table.key == "age_gender":
            table.facts[(rows, len(table.col_labels))] = "conv"
    hidden = _publish(tables) if published else _exact(tables)
    report.tables = tables
    report.headline = _headline(report, now, conversations, answered, attempts, hidden)
    report.headline += _durations(filters)
    if len(terms.seen_versions) > 1:
        versions = TaxonomyVersion.objects.filter(pk__in=terms.seen_versions).order_by("version")
        report.notes.append(
            _(
                "This period has contacts recorded with taxonomy versions %(versions)s. "
                "They are counted together in the categories of the current version "
                "(%(current)s)."
            )
            % {
                "versions": "、".join(v.version for v in versions),
                "current": terms.current_version.version if terms.current_version else "",
            }
        )
    return report


def _exact(tables: list[StatTable]) -> set[str]:
    for table in tables:
        table.grid = exact(table.values, row_totals=table.row_totals, col_totals=table.col_totals)
    return set()


def _publish(tables: list[StatTable]) -> set[str]:
    """Suppress every table; a count that several tables show (a total, phone calls
    answered, ...) hidden in one is hidden in all, and those tables are suppressed again
    around it. Returns the names of the shared counts that are hidden."""
    forced: dict[str, set[tuple[int, int]]] = defaultdict(set)
    todo = list(tables)
    hidden: set[str] = set()
    for _round in range(20):
        for table in todo:
            table.grid = suppress(
                table.values,
                row_totals=table.row_totals,
                col_totals=table.col_totals,
                force=forced[table.key],
            )
        hidden = {
            name
            for table in tables
            for (r, c), name in table.facts.items()
            if table.suppressed.status[r][c] not in (VISIBLE, UNPUBLISHED)
        }
        todo = []
        for table in tables:
            grid = table.suppressed
            for (r, c), name in table.facts.items():
                if name in hidden and grid.status[r][c] == VISIBLE and grid.values[r][c] > 0:
                    forced[table.key].add((r, c))
                    if table not in todo:
                        todo.append(table)
        if not todo:
            break
    return hidden


def _shown(n: int, published: bool, fact: str, hidden: set[str]) -> str:
    if published and fact in hidden:
        return "<5" if 0 < n < 5 else "x"
    return f"{n:,}"


def _headline(
    report: Report,
    now: _Figures,
    conversations: int,
    answered: int,
    attempts: int | None,
    hidden: set[str],
) -> list[tuple[str, str]]:
    p = report.published

    def ok(*facts: str) -> bool:
        return not (p and hidden.intersection(facts))

    conv_all = now.dims.get("conv", {}).get("", 0)
    out = [
        (_("Number of contacts"), _shown(report.total, p, "contacts", hidden)),
        (
            _("Previous year"),
            _shown(report.previous_total, p, "contacts_prev", hidden)
            if report.previous_total
            else _("no data"),
        ),
    ]
    if report.previous_total and ok("contacts", "contacts_prev"):
        change = (report.total - report.previous_total) / report.previous_total * 100
        out.append((_("Change against the previous year"), f"{change:+.1f}%"))
    out.append((_("Conversations"), _shown(conv_all, p, "conv", hidden)))
    if answered and ok(f"channel:{Channel.PHONE.value}", "phone_conv"):
        out.append((_("Phone: conversations per call answered"), f"{conversations / answered:.1%}"))
    if attempts and ok(f"channel:{Channel.PHONE.value}"):
        out.append((_("Phone: answer rate"), f"{answered / attempts:.1%}"))
    return out


def _durations(filters: StatsFilters) -> list[tuple[str, str]]:
    out = []
    rows = (
        _scope(filters)
        .filter(dim__in=["dur_s", "dur_n"])
        .values_list("channel", "dim")
        .order_by()
        .annotate(total=Sum("n"))
    )
    sums: dict[str, dict[str, int]] = defaultdict(dict)
    for channel, dim, n in rows:
        sums[channel][dim] = int(n)
    for channel in (Channel.PHONE, Channel.CHAT):
        got = sums.get(channel, {})
        count = got.get("dur_n", 0)
        if count >= MIN_FOR_AVERAGE:
            minutes = got.get("dur_s", 0) / count / 60
            out.append(
                (
                    _("Average length of a conversation (%(channel)s)")
                    % {"channel": channel.label},
                    _("%(minutes)s min") % {"minutes": f"{minutes:.1f}"},
                )
            )
    return out


def _escalations(filters: StatsFilters, terms: _Terms, label: str) -> StatTable:
    counts: dict[int | None, int] = defaultdict(int)
    waiting = 0
    for status, action_id, n in _escalation_rows(filters):
        if status == EscalationStatus.OPEN:
            waiting += n
        else:
            term = terms.current(str(action_id)) if action_id else None
            counts[term.pk if term else None] += n
    actions = [t for t in terms.of_kind(TermKind.ESCALATION_ACTION) if counts.get(t.pk)]
    rows = [(t.label, counts[t.pk]) for t in actions]
    if counts.get(None):
        rows.append((_("Decided, action not recorded"), counts[None]))
    if waiting:
        rows.append((_("Waiting for a decision"), waiting))
    return StatTable(
        "escalations",
        _("Escalations by what was done"),
        [r for r, _n in rows],
        [label],
        [[n] for _r, n in rows],
        chart="bar",
        note=_("Contacts at high or urgent risk and the supervisor's decision."),
    )


def _escalation_rows(filters: StatsFilters) -> list[tuple[str, int | None, int]]:
    """(status, action, count) of the escalations of contacts that began in the period.

    Read live (a few per hundred contacts), starting from the escalations: left to itself
    SQLite walks a year of contacts (a million index entries) and probes each for an
    escalation, and PostgreSQL hashes the whole year of contacts. ``CROSS JOIN`` fixes
    SQLite's join order, a lateral subquery PostgreSQL's; ``raised_at >= start`` (an
    escalation is raised after its contact began) skips earlier years.
    """
    from django.db import connection

    start, end = filters.bounds()
    adapt = connection.ops.adapt_datetimefield_value
    contacts, escalations = Contact._meta.db_table, Escalation._meta.db_table
    if connection.vendor == "postgresql":
        # A hash join would read every contact of the year; OFFSET 0 keeps the lateral
        # subquery apart, so each escalation looks its contact up by primary key.
        source = (
            f"{escalations} e CROSS JOIN LATERAL (SELECT started_at, line_id, site_id "  # noqa: S608
            f"FROM {contacts} WHERE id = e.contact_id OFFSET 0) c"
        )
    else:
        source = f"{escalations} e CROSS JOIN {contacts} c ON c.id = e.contact_id"
    where = ["e.raised_at >= %s", "c.started_at >= %s", "c.started_at < %s"]
    params: list[Any] = [adapt(start), adapt(start), adapt(end)]
    if filters.line:
        where.append("c.line_id = %s")
        params.append(filters.line)
    if filters.site:
        where.append("c.site_id = %s")
        params.append(filters.site)
    sql = (
        "SELECT e.status, e.action_id, COUNT(*) "  # noqa: S608 - fixed names, parameters
        f"FROM {source} WHERE {' AND '.join(where)} "
        "GROUP BY e.status, e.action_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(status, action_id, int(n)) for status, action_id, n in cursor.fetchall()]


# --- The annual report's sections -------------------------------------------------------


@dataclass
class SectionView:
    key: str
    kind: str
    title: str
    hint: str
    body: str
    revision: int | None
    revisions: int
    updated_at: datetime | None
    updated_by: str


def report_sections(year: int) -> list[SectionView]:
    """Every section of the year's report (empty ones too), in order."""
    from django.db.models import Max

    from uketome.stats.models import ReportSection
    from uketome.stats.services import SECTIONS

    stored = {
        s.key: s
        for s in ReportSection.objects.filter(report__fiscal_year=year)
        .select_related("updated_by")
        .annotate(n=Count("revisions"), newest=Max("revisions__id"))
    }
    out = []
    for spec in SECTIONS:
        section = stored.get(spec.key)
        out.append(
            SectionView(
                key=spec.key,
                kind=spec.kind,
                title=str(spec.title),
                hint=str(spec.hint),
                body=section.body if section else "",
                revision=getattr(section, "newest", None),
                revisions=getattr(section, "n", 0),
                updated_at=section.updated_at if section else None,
                updated_by=section.updated_by.display_name
                if section and section.updated_by
                else "",
            )
        )
    return out


def section_history(year: int, key: str) -> list[Any]:
    from uketome.stats.models import SectionRevision

    return list(
        SectionRevision.objects.filter(section__report__fiscal_year=year, section__key=key)
        .select_related("author")
        .order_by("-created_at", "-id")[:50]
    )
