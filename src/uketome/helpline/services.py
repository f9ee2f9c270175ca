"""Writes on contact records, escalations and retention."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from uketome.core.audit import audit_record
from uketome.core.events import publish_on_commit, site_supervisors_group
from uketome.helpline.models import (
    Channel,
    Contact,
    ContactTopic,
    Escalation,
    EscalationStatus,
    IdentityPolicy,
    Line,
    TaxonomyTerm,
    TermKind,
)
from uketome.helpline.taxonomy import current_version
from uketome.network.models import Site
from uketome.stats.rollup import contact_recorded as stats_contact_recorded


class ContactError(ValueError):
    """A contact that cannot be recorded as given; ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class ContactData:
    """What a listener records. Terms are TaxonomyTerm rows of the current version."""

    line: Line
    channel: str
    started_at: datetime
    ended_at: datetime | None = None
    site: Site | None = None
    listener: Any = None
    supporter: Any = None
    outcome: TaxonomyTerm | None = None
    age_band: TaxonomyTerm | None = None
    gender: TaxonomyTerm | None = None
    grade: TaxonomyTerm | None = None
    repeat: str = "unknown"
    topics: list[TaxonomyTerm] = field(default_factory=list)
    feelings: list[TaxonomyTerm] = field(default_factory=list)
    main_concern: TaxonomyTerm | None = None
    relationship: TaxonomyTerm | None = None
    setting: TaxonomyTerm | None = None
    risk_level: TaxonomyTerm | None = None
    summary: str = ""
    notes: str = ""
    identified_with_consent: bool = False
    identification: str = ""
    client_ref: uuid.UUID | None = None
    source_kind: str = ""
    source_id: int | None = None


SINGLE_TERMS = {
    "outcome": TermKind.OUTCOME,
    "age_band": TermKind.AGE_BAND,
    "gender": TermKind.GENDER,
    "grade": TermKind.GRADE,
    "main_concern": TermKind.MAIN_CONCERN,
    "relationship": TermKind.RELATIONSHIP,
    "setting": TermKind.SETTING,
    "risk_level": TermKind.RISK_LEVEL,
}


def _check(data: ContactData, version_id: int, now: datetime) -> None:
    if data.channel not in Channel.values:
        raise ContactError(_("Choose a channel from the list."), "channel")
    if data.started_at > now + timedelta(minutes=5):
        raise ContactError(_("The start time is in the future."), "started_at")
    if data.ended_at is not None:
        if data.ended_at < data.started_at:
            raise ContactError(_("The end is before the start."), "ended_at")
        if data.ended_at > now + timedelta(minutes=5):
            raise ContactError(_("The end time is in the future."), "ended_at")
        if data.ended_at - data.started_at > timedelta(hours=12):
            raise ContactError(_("A contact cannot last more than 12 hours."), "ended_at")
    for name, kind in SINGLE_TERMS.items():
        term = getattr(data, name)
        if term is not None and (term.version_id != version_id or term.kind != kind):
            raise ContactError(_("Choose from the current list."), name)
    for name, terms, kind in (
        ("topics", data.topics, TermKind.TOPIC),
        ("feelings", data.feelings, TermKind.FEELING),
    ):
        if any(t.version_id != version_id or t.kind != kind for t in terms):
            raise ContactError(_("Choose from the current list."), name)
    if data.identified_with_consent or data.identification:
        if data.line.identity_policy == IdentityPolicy.ANONYMOUS:
            raise ContactError(
                _("This line is always anonymous: no identification may be recorded."),
                "identification",
            )


def contact_record(*, actor: Any, data: ContactData) -> Contact:
    """Record a contact. A retried request with the same ``client_ref`` is stored once.

    A contact at high or urgent risk opens an escalation and alerts the supervisors of its
    site who are signed in (after commit).
    """
    if data.client_ref is not None:
        existing = Contact.objects.filter(client_ref=data.client_ref).first()
        if existing is not None:
            return existing
    version = current_version()
    now = timezone.now()
    _check(data, version.pk, now)
    try:
        with transaction.atomic():
            contact = Contact(
                line=data.line,
                channel=data.channel,
                site=data.site,
                taxonomy=version,
                listener=data.listener,
                supporter=data.supporter,
                started_at=data.started_at,
                ended_at=data.ended_at,
                duration_seconds=(
                    int((data.ended_at - data.started_at).total_seconds())
                    if data.ended_at
                    else None
                ),
                repeat=data.repeat,
                summary=data.summary or None,
                notes=data.notes or None,
                identified_with_consent=data.identified_with_consent,
                identification=data.identification or None,
                recorded_by=actor,
                client_ref=data.client_ref,
                source_kind=data.source_kind,
                source_id=data.source_id,
                risk_rank=data.risk_level.rank if data.risk_level else 0,
                **{name: getattr(data, name) for name in SINGLE_TERMS},
            )
            contact.save()
            ContactTopic.objects.bulk_create(
                ContactTopic(contact=contact, term=t) for t in _unique(data.topics)
            )
            contact.feelings.set(_unique(data.feelings))
            audit_record(actor=actor, action="contact.created", target=contact)
            stats_contact_recorded(contact_id=contact.pk)
            _escalate_if_needed(contact, actor=actor, now=now)
    except IntegrityError:
        if data.client_ref is not None:
            existing = Contact.objects.filter(client_ref=data.client_ref).first()
            if existing is not None:
                return existing
        raise
    return contact


def _unique(terms: Iterable[TaxonomyTerm]) -> list[TaxonomyTerm]:
    seen: dict[int, TaxonomyTerm] = {}
    for term in terms:
        seen.setdefault(term.pk, term)
    return list(seen.values())


def _escalate_if_needed(contact: Contact, *, actor: Any, now: datetime) -> Escalation | None:
    level = contact.risk_level
    if level is None or not level.attrs.get("alert"):
        return None
    escalation, created = Escalation.objects.get_or_create(
        contact=contact, defaults={"raised_at": now}
    )
    if created:
        audit_record(
            actor=actor,
            action="escalation.raised",
            target=escalation,
            data={"contact": contact.pk, "risk": level.code},
        )
        publish_on_commit(
            site_supervisors_group(contact.site_id),
            "escalation.raised",
            {
                "contact": contact.pk,
                "escalation": escalation.pk,
                "risk": level.label,
                "rank": level.rank,
                "line": contact.line.name,
                "site": contact.site.name if contact.site else "",
            },
        )
    return escalation


@transaction.atomic
def escalation_decide(
    *,
    actor: Any,
    escalation: Escalation,
    action: TaxonomyTerm,
    to_whom: str = "",
    acted_at: datetime | None = None,
    note: str = "",
) -> Escalation:
    """The supervisor's decision on an escalation: what was done, to whom, when."""
    if action.kind != TermKind.ESCALATION_ACTION:
        raise ContactError(_("Choose an action from the list."), "action")
    now = timezone.now()
    if acted_at is not None and acted_at > now + timedelta(minutes=5):
        raise ContactError(_("The time of the action is in the future."), "acted_at")
    escalation.status = EscalationStatus.DECIDED
    escalation.action = action
    escalation.to_whom = to_whom
    escalation.acted_at = acted_at
    escalation.decided_by = actor
    escalation.decided_at = now
    escalation.decision_note = note or None
    escalation.save()
    audit_record(
        actor=actor,
        action="escalation.decided",
        target=escalation,
        data={"contact": escalation.contact_id, "action": action.code},
    )
    publish_on_commit(
        site_supervisors_group(escalation.contact.site_id),
        "escalation.decided",
        {"contact": escalation.contact_id, "escalation": escalation.pk},
    )
    return escalation


@dataclass
class RetentionResult:
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.removed.values())


def retention_run(
    *, actor: Any = None, now: datetime | None = None, dry_run: bool = False
) -> RetentionResult:
    """Remove narrative content older than each line's retention period; keep the
    statistical record. Audited (also a dry run)."""
    now = now or timezone.now()
    result = RetentionResult()
    for line in Line.objects.all():
        cutoff = now - timedelta(days=line.retention_days)
        due = Contact.objects.filter(
            line=line, narrative_removed_at__isnull=True, started_at__lt=cutoff
        )
        if dry_run:
            result.removed[line.slug] = due.count()
            continue
        with transaction.atomic():
            ids = list(due.values_list("pk", flat=True))
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                Contact.objects.filter(pk__in=chunk).update(
                    summary=None, notes=None, identification=None, narrative_removed_at=now
                )
                Escalation.objects.filter(contact_id__in=chunk).update(decision_note=None)
            result.removed[line.slug] = len(ids)
    audit_record(
        actor=actor,
        action="retention.dry_run" if dry_run else "retention.run",
        data={"removed": result.removed, "at": now.isoformat()},
    )
    return result
