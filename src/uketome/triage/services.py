"""Writes and loading of the risk lexicon.

The secretariat edits entries in the admin (``admin.LexiconEntryAdmin``, audited by
``AuditedModelAdmin``). ``lexicon_load_defaults`` copies the shipped default into the
database (after ``migrate`` when the table is empty, or on demand with
``uketome triage --load-defaults``). Every save or delete of an entry makes the
process's compiled lexicon stale (``apps.TriageConfig``), so the next message is scored
with the edit.
"""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import Count, Max

from uketome.core.audit import audit_record
from uketome.triage import scoring
from uketome.triage.defaults import default_entries, default_specs
from uketome.triage.models import LexiconEntry
from uketome.triage.scoring import EntrySpec

_FIELDS = ("kind", "name", "effect", "level", "weight", "shift", "applies_to", "note")


def spec_of(entry: LexiconEntry) -> EntrySpec:
    """The scoring spec of a stored entry."""
    return EntrySpec(
        term=entry.term,
        kind=entry.kind,
        name=entry.name,
        category=entry.category,
        effect=entry.effect,
        level=entry.level,
        weight=entry.weight,
        shift=entry.shift,
        applies_to=tuple(entry.applies_to or ()),
        exceptions=tuple(entry.exception_list()),
    )


def lexicon_specs() -> list[EntrySpec]:
    """The active entries, or the shipped default while the table is empty or missing."""
    try:
        if not LexiconEntry.objects.exists():
            return default_specs()
        return [spec_of(entry) for entry in LexiconEntry.objects.filter(active=True)]
    except DatabaseError:
        return default_specs()


def lexicon_version() -> Any:
    """Changes whenever an entry is added, changed or deleted (cheap: one aggregate)."""
    try:
        found = LexiconEntry.objects.aggregate(count=Count("id"), last=Max("updated_at"))
    except DatabaseError:
        return None
    return (found["count"], found["last"])


@transaction.atomic
def lexicon_load_defaults(*, actor: Any = None, audit: bool = True) -> int:
    """Add the shipped entries that the database lacks (matched on term, kind and
    category; entries the secretariat changed or deactivated are left as they are).
    Returns how many were added; writes one audit entry when any were (not when the app
    seeds an empty table right after ``migrate``: that is part of installing)."""
    existing = set(LexiconEntry.objects.values_list("term", "kind", "category"))
    added = []
    for data in default_entries():
        kind = data.get("kind", "lemma")
        if (data["term"], kind, data["category"]) in existing:
            continue
        entry = LexiconEntry(
            term=data["term"],
            category=data["category"],
            exceptions="\n".join(data.get("exceptions", ())),
            **{field: data[field] for field in _FIELDS if field in data},
        )
        entry.full_clean()
        added.append(entry)
    LexiconEntry.objects.bulk_create(added)
    if added:
        scoring.invalidate()
        transaction.on_commit(scoring.invalidate)
    if added and audit:
        audit_record(actor=actor, action="triage.lexicon_loaded", data={"added": len(added)})
    return len(added)
