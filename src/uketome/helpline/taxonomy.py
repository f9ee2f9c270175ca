"""The versioned taxonomy: loading ``data/taxonomy/*.toml`` and looking terms up.

Each file is one version. Loading a version that is already in the database changes
nothing (a version is never rewritten). A newer version's terms become current; every older
term with the same kind and code - or named in the newer file's ``[[mapping]]`` - points to
its current term, so reports count old and new contacts together.

A mapping entry: ``[[mapping]] kind = "topic"  from = "old_code"  to = "new_code"``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from uketome.core.text import search_key
from uketome.helpline.models import Contact, TaxonomyTerm, TaxonomyVersion, TermKind

TAXONOMY_DIR = Path(__file__).parent / "data" / "taxonomy"

SECTIONS: dict[str, str] = {
    "chi_categories": TermKind.CHI_CATEGORY,
    "topics": TermKind.TOPIC,
    "main_concerns": TermKind.MAIN_CONCERN,
    "feelings": TermKind.FEELING,
    "relationships": TermKind.RELATIONSHIP,
    "settings": TermKind.SETTING,
    "age_bands": TermKind.AGE_BAND,
    "genders": TermKind.GENDER,
    "grades": TermKind.GRADE,
    "outcomes": TermKind.OUTCOME,
    "risk_levels": TermKind.RISK_LEVEL,
    "escalation_actions": TermKind.ESCALATION_ACTION,
}
BASE_KEYS = {"code", "label", "label_en", "kana", "aliases", "chi"}


class TaxonomyError(ValueError):
    """A taxonomy file that cannot be loaded as it is."""


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def taxonomy_files(directory: Path = TAXONOMY_DIR) -> list[Path]:
    return sorted(directory.glob("*.toml"), key=lambda p: _version_key(p.stem))


def read(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    if "version" not in data:
        raise TaxonomyError(f"{path.name}: no version")
    for section, _kind in SECTIONS.items():
        codes = [entry.get("code") for entry in data.get(section, [])]
        if len(codes) != len(set(codes)) or not all(codes):
            raise TaxonomyError(f"{path.name}: codes in {section} must be present and unique")
    chi_codes = {entry["code"] for entry in data.get("chi_categories", [])}
    for topic in data.get("topics", []):
        if topic.get("chi") not in chi_codes:
            raise TaxonomyError(f"{path.name}: topic {topic['code']} has unknown chi category")
    return data


@transaction.atomic
def load_version(data: dict[str, Any]) -> tuple[TaxonomyVersion, bool]:
    """Store one version (no change if it exists). Returns (version, created)."""
    existing = TaxonomyVersion.objects.filter(version=data["version"]).first()
    if existing is not None:
        return existing, False
    version = TaxonomyVersion.objects.create(version=data["version"], title=data.get("title", ""))
    chi_terms: dict[str, TaxonomyTerm] = {}
    for section, kind in SECTIONS.items():
        for order, entry in enumerate(data.get(section, [])):
            words = [entry["label"], entry.get("kana", ""), *entry.get("aliases", [])]
            term = TaxonomyTerm.objects.create(
                version=version,
                kind=kind,
                code=entry["code"],
                label=entry["label"],
                label_en=entry.get("label_en", ""),
                kana=entry.get("kana", ""),
                search=" ".join(search_key(w) for w in words if w),
                sort_order=order,
                attrs={k: v for k, v in entry.items() if k not in BASE_KEYS},
                chi=chi_terms.get(entry.get("chi", "")),
            )
            if kind == TermKind.CHI_CATEGORY:
                chi_terms[term.code] = term
    _make_current(version, data.get("mapping", []))
    return version, True


def _make_current(version: TaxonomyVersion, mapping: list[dict[str, str]]) -> None:
    newest = max(TaxonomyVersion.objects.values_list("version", flat=True), key=_version_key)
    if version.version != newest:
        return
    TaxonomyVersion.objects.filter(is_current=True).update(is_current=False)
    TaxonomyVersion.objects.filter(pk=version.pk).update(is_current=True)
    new_terms = {(t.kind, t.code): t for t in version.terms.all()}
    renamed = {(m["kind"], m["from"]): m["to"] for m in mapping}
    for term in TaxonomyTerm.objects.all():
        code = renamed.get((term.kind, term.code), term.code)
        target = new_terms.get((term.kind, code))
        if term.current_id != (target.pk if target else None):
            term.current = target
            term.save(update_fields=["current"])


def load_all(directory: Path = TAXONOMY_DIR) -> list[TaxonomyVersion]:
    """Load every version file not yet in the database (oldest first)."""
    return [load_version(read(path))[0] for path in taxonomy_files(directory)]


# Terms by id, per process. A version's terms are written once, when it is loaded; only
# their ``current`` link changes when a newer version arrives (never read from here).
_TERMS: dict[int, TaxonomyTerm] = {}


def forget_terms(**_kwargs: Any) -> None:
    """Drop the per-process term cache (connected to term saves and deletes)."""
    _TERMS.clear()


def terms_by_id(ids: Iterable[int | None]) -> dict[int, TaxonomyTerm]:
    """The terms with these ids, from the per-process cache (one query for the missing)."""
    wanted = {pk for pk in ids if pk is not None}
    missing = wanted - _TERMS.keys()
    if missing:
        _TERMS.update(TaxonomyTerm.objects.in_bulk(missing))
    return {pk: _TERMS[pk] for pk in wanted if pk in _TERMS}


def attach_terms(contacts: Sequence[Contact], fields: Iterable[str]) -> None:
    """Fill the contacts' taxonomy term links from the cache instead of a join each."""
    fields = list(fields)
    found = terms_by_id(getattr(c, f"{f}_id") for c in contacts for f in fields)
    for contact in contacts:
        for name in fields:
            term = found.get(getattr(contact, f"{name}_id"))
            if term is not None and term.version_id == contact.taxonomy_id:
                Contact._meta.get_field(name).set_cached_value(contact, term)  # type: ignore[union-attr]


def current_version() -> TaxonomyVersion:
    return TaxonomyVersion.objects.get(is_current=True)


def terms(version: TaxonomyVersion, kind: str) -> QuerySet[TaxonomyTerm]:
    return TaxonomyTerm.objects.filter(version=version, kind=kind).order_by("sort_order")
