"""Reads of contact records, always scoped by the permission rules.

Reading a contact's narrative writes an audit entry; asking for a contact one may not see
answers "not found" (and is audited too), never "forbidden".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from uketome.accounts.roles import Role
from uketome.core.audit import audit_record
from uketome.core.permissions import scope_of, view_contact, view_escalations
from uketome.helpline.models import Contact, Escalation, EscalationStatus
from uketome.helpline.taxonomy import attach_terms
from uketome.network.models import Site

# The taxonomy links each page shows, filled from the per-process term cache (no joins).
LIST_TERMS = ("outcome", "age_band", "gender", "risk_level")
DETAIL_TERMS = (
    *LIST_TERMS,
    "grade",
    "main_concern",
    "relationship",
    "setting",
)


def home_site(user: Any) -> Site | None:
    """The site a contact taken by ``user`` belongs to: where they listen (or support, or
    supervise), the first by the network's order."""
    scope = scope_of(user)
    for role in (Role.LISTENER, Role.SUPPORTER, Role.SUPERVISOR):
        sites = scope.sites_by_role.get(role)
        if sites:
            return Site.objects.filter(pk__in=sites).order_by("sort_order", "pk").first()
    return None


def contacts_visible_to(user: Any) -> QuerySet[Contact]:
    return view_contact.filter(user, Contact.objects.all())


@dataclass(frozen=True)
class ContactFilters:
    line: int | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None  # exclusive
    topic: int | None = None
    risk: int | None = None  # minimum risk rank
    escalated: bool = False


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the (started_at, id) of the last row shown."""

    started_at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.started_at.isoformat()}_{self.id}"

    @classmethod
    def decode(cls, raw: str) -> Cursor | None:
        moment, _sep, pk = raw.rpartition("_")
        try:
            parsed = datetime.fromisoformat(moment)
        except ValueError:
            return None
        if not pk.isdigit() or parsed.tzinfo is None:
            return None
        return cls(parsed, int(pk))


@dataclass(frozen=True)
class ContactPage:
    rows: list[Contact]
    next_cursor: Cursor | None


def _branches(visible: Q) -> list[Q]:
    """The visibility filter split into alternatives that each follow one
    ``(column, -started_at, -id)`` index (one per site, the listener's own, ...).

    An OR across columns makes databases sort every visible row for each page; read
    separately, each alternative is a short ordered index scan.
    """
    if not visible.children:
        return [Q()]
    parts = visible.children if visible.connector == Q.OR and not visible.negated else [visible]
    branches: list[Q] = []
    for part in parts:
        if isinstance(part, tuple):
            key, value = part
            if key.endswith("__in") and len(value) > 1:
                branches += [Q(**{key[:-4]: item}) for item in value]
            else:
                branches.append(Q(**{key: value}))
        elif isinstance(part, Q):
            branches.append(part)
        else:  # not a shape the rules produce: keep the whole filter as one branch
            return [visible]
    return branches


def contact_page(
    user: Any, filters: ContactFilters, after: Cursor | None = None, size: int = 50
) -> ContactPage:
    """One page, newest first, by keyset (no OFFSET, no COUNT)."""
    if not view_contact.test(user, None):
        return ContactPage(rows=[], next_cursor=None)
    queryset = Contact.objects.all()
    if filters.line:
        queryset = queryset.filter(line_id=filters.line)
    if filters.date_from:
        queryset = queryset.filter(started_at__gte=filters.date_from)
    if filters.date_to:
        queryset = queryset.filter(started_at__lt=filters.date_to)
    if filters.topic:
        queryset = queryset.filter(contacttopic__term_id=filters.topic)
    if filters.risk is not None:
        queryset = queryset.filter(risk_rank__gte=filters.risk)
    if filters.escalated:
        queryset = queryset.filter(escalation__isnull=False)
    if after is not None:
        # The leading bound lets the index range start at the cursor.
        queryset = queryset.filter(started_at__lte=after.started_at).filter(
            Q(started_at__lt=after.started_at) | Q(id__lt=after.id)
        )
    keys: set[tuple[datetime, int]] = set()
    for branch in _branches(view_contact.q(user)):
        keys.update(
            queryset.filter(branch)
            .order_by("-started_at", "-id")
            .values_list("started_at", "id")[: size + 1]
        )
    ordered = sorted(keys, reverse=True)
    more = len(ordered) > size
    ids = [pk for _at, pk in ordered[:size]]
    rows = list(
        Contact.objects.filter(pk__in=ids)
        .select_related("line", "site")
        .defer("summary", "notes", "identification")
        .order_by("-started_at", "-id")
    )
    attach_terms(rows, LIST_TERMS)
    return ContactPage(
        rows=rows,
        next_cursor=Cursor(rows[-1].started_at, rows[-1].pk) if more and rows else None,
    )


def contact_for_reading(user: Any, pk: int, *, reason: str = "") -> Contact:
    """The contact with its narrative, for someone allowed to read it (audited).

    Not visible or not there: Http404 either way, and the attempt is audited.
    """
    contact = (
        contacts_visible_to(user)
        .select_related("line", "site", "taxonomy", "listener", "supporter")
        .filter(pk=pk)
        .first()
    )
    if contact is None:
        audit_record(
            actor=user,
            action="contact.read_denied",
            data={"contact": pk},
            reason=reason,
        )
        raise Http404
    attach_terms([contact], DETAIL_TERMS)
    audit_record(actor=user, action="contact.read", target=contact, reason=reason)
    return contact


def open_escalations_visible_to(user: Any) -> QuerySet[Escalation]:
    return view_escalations.filter(
        user,
        Escalation.objects.filter(status=EscalationStatus.OPEN).select_related(
            "contact__line", "contact__site", "contact__risk_level"
        ),
    ).order_by("-contact__risk_rank", "raised_at")


EXPORT_FIELDS = [
    "id",
    "line",
    "channel",
    "site",
    "started_at",
    "ended_at",
    "duration_seconds",
    "outcome",
    "age_band",
    "gender",
    "grade",
    "repeat",
    "topics",
    "feelings",
    "main_concern",
    "relationship",
    "setting",
    "risk_level",
    "escalation_action",
    "taxonomy",
]


def export_rows(user: Any, filters: ContactFilters) -> Iterator[list[Any]]:
    """Rows for the statistical export: never summary, notes or identification."""
    queryset = contacts_visible_to(user)
    if filters.line:
        queryset = queryset.filter(line_id=filters.line)
    if filters.date_from:
        queryset = queryset.filter(started_at__gte=filters.date_from)
    if filters.date_to:
        queryset = queryset.filter(started_at__lt=filters.date_to)
    queryset = (
        queryset.select_related(
            "line",
            "site",
            "outcome",
            "age_band",
            "gender",
            "grade",
            "main_concern",
            "relationship",
            "setting",
            "risk_level",
            "taxonomy",
            "escalation__action",
        )
        .prefetch_related("topics", "feelings")
        .only(
            "id",
            "line__name",
            "channel",
            "site__name",
            "started_at",
            "ended_at",
            "duration_seconds",
            "repeat",
            "taxonomy__version",
            "outcome__label",
            "age_band__label",
            "gender__label",
            "grade__label",
            "main_concern__label",
            "relationship__label",
            "setting__label",
            "risk_level__label",
            "escalation__action__label",
        )
        .order_by("started_at", "id")
    )

    def label(term: Any) -> str:
        return term.label if term is not None else ""

    for contact in queryset.iterator(chunk_size=2000):
        escalation = (
            getattr(contact, "escalation", None) if hasattr(contact, "escalation") else None
        )
        yield [
            contact.pk,
            contact.line.name,
            contact.get_channel_display(),
            contact.site.name if contact.site else "",
            contact.started_at,
            contact.ended_at,
            contact.duration_seconds,
            label(contact.outcome),
            label(contact.age_band),
            label(contact.gender),
            label(contact.grade),
            contact.get_repeat_display(),
            "、".join(t.label for t in contact.topics.all()),
            "、".join(t.label for t in contact.feelings.all()),
            label(contact.main_concern),
            label(contact.relationship),
            label(contact.setting),
            label(contact.risk_level),
            label(escalation.action) if escalation is not None else "",
            contact.taxonomy.version,
        ]
