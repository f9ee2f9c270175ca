"""The monthly rollup of contact records (``MonthlyCount``), kept current.

Why a rollup: the annual report has some thirty tables. Grouping a million contacts (and
1.6 million topic rows) per table costs seconds each, on SQLite and PostgreSQL alike. The
rollup holds one row per (month, line, site, channel, dimension, key) - about 100,000 rows
for a year of a million contacts - so the whole report is a handful of indexed range scans
over small rows.

How it stays current:

- ``contact_recorded(contact_id=...)`` is called by ``helpline.services.contact_record``
  inside its transaction; it adds the contact's counts *after commit* (one upsert per key:
  ``INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n``, safe with concurrent
  saves). It never breaks recording a contact: a failure is logged and the nightly rebuild
  repairs it.
- ``rebuild(months=...)`` recomputes months from the contacts with GROUP BY queries (the
  ``uketome stats-rebuild`` command; the nightly task ``stats.tasks.rebuild_recent``
  recomputes the last two months). Call it after anything that changes contacts without
  ``contact_record`` (an edit form, the admin, a data import).

Term keys are the terms as recorded; reports map them to the current taxonomy version
(``TaxonomyTerm.current``) when they read, so a new taxonomy version needs no rebuild.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL

from uketome.core.dates import TOKYO
from uketome.helpline.models import Contact, ContactTopic, TaxonomyTerm, TermKind
from uketome.stats.models import MonthlyCount

logger = logging.getLogger(__name__)

Key = tuple[date, int, int, str, str, str]

# Dimensions counted for every contact, and those counted only for contacts where a
# conversation took place (会話成立, or no outcome recorded: chats and letters).
ALL_CONTACTS = ("contacts", "outcome", "hour", "weekday")
CONVERSATION_SINGLE = {
    "main_concern": "main_concern_id",
    "relationship": "relationship_id",
    "setting": "setting_id",
    "risk": "risk_level_id",
    "repeat": "repeat",
}


def month_of(moment: datetime) -> date:
    local = moment.astimezone(TOKYO)
    return date(local.year, local.month, 1)


def conversation_outcomes() -> list[int]:
    """Ids of outcome terms (all versions) that are conversations."""
    return [
        pk
        for pk, attrs in TaxonomyTerm.objects.filter(kind=TermKind.OUTCOME).values_list(
            "pk", "attrs"
        )
        if attrs.get("conversation")
    ]


def is_conversation(outcome_id: int | None, conversation_ids: Iterable[int]) -> bool:
    return outcome_id is None or outcome_id in set(conversation_ids)


def _k(value: Any) -> str:
    return "" if value is None else str(value)


def contact_counts(contact_id: int) -> Counter[Key]:
    """The rollup keys one contact adds to (with how much)."""
    row = (
        Contact.objects.filter(pk=contact_id)
        .values(
            "started_at",
            "line_id",
            "site_id",
            "channel",
            "outcome_id",
            "age_band_id",
            "gender_id",
            "duration_seconds",
            *[f for f in CONVERSATION_SINGLE.values()],
        )
        .first()
    )
    counts: Counter[Key] = Counter()
    if row is None:
        return counts
    local = row["started_at"].astimezone(TOKYO)
    base = (date(local.year, local.month, 1), row["line_id"], row["site_id"] or 0, row["channel"])

    def add(dim: str, key: Any, n: int = 1) -> None:
        counts[(*base, dim, _k(key))] += n

    add("contacts", "")
    add("outcome", row["outcome_id"])
    add("hour", local.hour)
    add("weekday", local.weekday())
    if not is_conversation(row["outcome_id"], conversation_outcomes()):
        return counts
    add("conv", "")
    add("age_gender", f"{_k(row['age_band_id'])}:{_k(row['gender_id'])}")
    for dim, column in CONVERSATION_SINGLE.items():
        add(dim, row[column])
    if row["duration_seconds"] is not None:
        add("dur_s", "", row["duration_seconds"])
        add("dur_n", "")
    topics = list(
        ContactTopic.objects.filter(contact_id=contact_id).values_list("term_id", "term__chi_id")
    )
    for term_id, _chi in topics:
        add("topic", term_id)
    for chi in {chi for _t, chi in topics} or {None}:
        add("chi", chi)
    feelings = Contact.feelings.through.objects.filter(contact_id=contact_id).values_list(
        "taxonomyterm_id", flat=True
    )
    for feeling in feelings:
        add("feeling", feeling)
    return counts


TABLE = MonthlyCount._meta.db_table
COLUMNS = "month, line_id, site_id, channel, dim, key, n"


def add_counts(counts: Counter[Key]) -> None:
    """Add ``counts`` to the rollup (creating rows as needed)."""
    if not counts:
        return
    statement = (
        f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s) "  # noqa: S608
        "ON CONFLICT (month, line_id, site_id, channel, dim, key) "
        f"DO UPDATE SET n = {TABLE}.n + excluded.n"
    )
    with connection.cursor() as cursor:
        cursor.executemany(statement, [(*key, n) for key, n in counts.items()])


def _count_now(contact_id: int) -> None:
    try:
        with transaction.atomic():
            add_counts(contact_counts(contact_id))
    except Exception:  # a statistic must never stop a contact being recorded
        logger.exception("stats: could not count contact %s; the nightly rebuild will", contact_id)


def contact_recorded(*, contact_id: int) -> None:
    """The hook for ``helpline.services``: count the contact once its transaction commits."""
    transaction.on_commit(partial(_count_now, contact_id), robust=True)


# --- Rebuild ------------------------------------------------------------------------------


def _month_bounds(months: Iterable[date]) -> Q:
    tz = TOKYO
    q = Q(pk__in=[])
    for month in months:
        start = datetime(month.year, month.month, 1, tzinfo=tz)
        end = datetime(month.year + (month.month // 12), month.month % 12 + 1, 1, tzinfo=tz)
        q |= Q(started_at__gte=start, started_at__lt=end)
    return q


def _local(part: str) -> RawSQL:
    """The contact's month ("YYYY-MM-01"), hour (0-23) or weekday (0 = Monday) in Tokyo,
    computed by the database itself (Django's SQLite date functions are Python callbacks,
    far too slow for a million rows). Japan keeps one offset all year (no summer time)."""
    column = '"helpline_contact"."started_at"'
    if connection.vendor == "postgresql":
        local = f"({column} AT TIME ZONE 'Asia/Tokyo')"
        sql = {
            "month": f"CAST(date_trunc('month', {local}) AS date)",
            "hour": f"CAST(EXTRACT(HOUR FROM {local}) AS integer)",
            "weekday": f"CAST(EXTRACT(ISODOW FROM {local}) AS integer) - 1",
        }[part]
    else:
        shift = f"'{TOKYO_OFFSET_HOURS:+d} hours'"
        sql = {
            "month": f"strftime('%%Y-%%m-01', {column}, {shift})",
            "hour": f"CAST(strftime('%%H', {column}, {shift}) AS integer)",
            "weekday": f"(CAST(strftime('%%w', {column}, {shift}) AS integer) + 6) %% 7",
        }[part]
    return RawSQL(sql, ())  # noqa: S611 - no parameters, a fixed expression


TOKYO_OFFSET_HOURS = int(datetime(2026, 1, 1, tzinfo=TOKYO).utcoffset().total_seconds() // 3600)  # type: ignore[union-attr]


def _grouped(queryset: QuerySet[Any], prefix: str, *fields: str, n: Any = None) -> Any:
    """Rows of (month, line, site, channel, *fields, n) grouped by those."""
    return (
        queryset.annotate(
            _m=_local("month"),
            _l=F(f"{prefix}line_id"),
            _s=F(f"{prefix}site_id"),
            _c=F(f"{prefix}channel"),
        )
        .values_list("_m", "_l", "_s", "_c", *fields)
        .order_by()
        .annotate(_n=n if n is not None else Count("*"))
    )


def compute(months: Iterable[date] | None = None) -> Counter[Key]:
    """The rollup of ``months`` (all months when None), computed from the contacts."""
    where = _month_bounds(months) if months is not None else Q()
    contacts = Contact.objects.filter(where)
    conv_ids = conversation_outcomes()
    conversation = Q(outcome__isnull=True) | Q(outcome_id__in=conv_ids)
    talks = contacts.filter(conversation)
    counts: Counter[Key] = Counter()

    def put(rows: Iterable[tuple[Any, ...]], dim: str, key: Any = None) -> None:
        for month, line, site, channel, *rest in rows:
            value = rest[-1]
            fields = rest[:-1]
            if isinstance(month, str):
                month = date.fromisoformat(month[:10])
            elif isinstance(month, datetime):
                month = month.date()
            k = key(fields) if callable(key) else _k(fields[0]) if fields else ""
            counts[(month, line, site or 0, channel, dim, k)] += int(value or 0)

    put(_grouped(contacts, ""), "contacts")
    put(_grouped(contacts, "", "outcome_id"), "outcome")
    put(
        _grouped(contacts.annotate(_h=_local("hour")), "", "_h"),
        "hour",
    )
    put(
        _grouped(contacts.annotate(_w=_local("weekday")), "", "_w"),
        "weekday",
    )
    put(_grouped(talks, ""), "conv")
    put(
        _grouped(talks, "", "age_band_id", "gender_id"),
        "age_gender",
        key=lambda f: f"{_k(f[0])}:{_k(f[1])}",
    )
    for dim, column in CONVERSATION_SINGLE.items():
        put(_grouped(talks, "", column), dim)
    timed = talks.filter(duration_seconds__isnull=False)
    put(_grouped(timed, "", n=Sum("duration_seconds")), "dur_s")
    put(_grouped(timed, ""), "dur_n")
    topic_rows = ContactTopic.objects.filter(
        contact__in=talks.values("pk") if months is not None else talks
    )
    put(_grouped(topic_rows, "contact__", "term_id"), "topic")
    put(
        _grouped(topic_rows, "contact__", "term__chi_id", n=Count("contact_id", distinct=True)),
        "chi",
    )
    no_topic = talks.filter(~Exists(ContactTopic.objects.filter(contact_id=OuterRef("pk"))))
    put(_grouped(no_topic, ""), "chi")
    feeling_model = Contact.feelings.through
    feeling_rows = feeling_model.objects.filter(
        contact__in=talks.values("pk") if months is not None else talks
    )
    put(_grouped(feeling_rows, "contact__", "taxonomyterm_id"), "feeling")
    return counts


def rebuild(months: Iterable[date] | None = None) -> int:
    """Recompute ``months`` (every month when None) from the contacts; returns the number
    of rollup rows written."""
    months = sorted(set(months)) if months is not None else None
    counts = compute(months)
    with transaction.atomic():
        if months is None:
            MonthlyCount.objects.all().delete()
        else:
            MonthlyCount.objects.filter(month__in=months).delete()
        rows = [
            MonthlyCount(
                month=m, line_id=line, site_id=site, channel=channel, dim=dim, key=key, n=n
            )
            for (m, line, site, channel, dim, key), n in counts.items()
            if n
        ]
        MonthlyCount.objects.bulk_create(rows, batch_size=5000)
    return len(rows)
