"""Writes of the statistics app: the annual report's sections (every save a revision)
and rebuilding the rollup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from uketome.core.audit import audit_record
from uketome.stats import rollup
from uketome.stats.models import AnnualReport, ReportSection, SectionKind, SectionRevision

MAX_BODY = 20_000


@dataclass(frozen=True)
class SectionSpec:
    key: str
    kind: str
    title: Promise
    hint: Promise


SECTIONS = [
    SectionSpec(
        "overview",
        SectionKind.COMMENTARY,
        _lazy("Overview of the year"),
        _lazy("How many children reached the lines, and what changed since last year."),
    ),
    SectionSpec(
        "children",
        SectionKind.COMMENTARY,
        _lazy("What the children told us"),
        _lazy("What the topics, feelings and settings show about children's lives."),
    ),
    SectionSpec(
        "lines",
        SectionKind.COMMENTARY,
        _lazy("Running the lines"),
        _lazy("Calls not answered, waiting chats, volunteers and training."),
    ),
    SectionSpec(
        "proposals",
        SectionKind.PROPOSALS,
        _lazy("Proposals (提言)"),
        _lazy("What the network asks of the prefecture, schools and communities."),
    ),
]
SPECS = {spec.key: spec for spec in SECTIONS}


class ReportError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class EditConflict(ReportError):
    """Someone else saved the section after this editor opened it."""


@transaction.atomic
def section_save(
    *, actor: Any, year: int, key: str, body: str, base_revision: int | None
) -> ReportSection:
    """Save one section of a year's report as a new revision.

    ``base_revision`` is the revision the editor started from (None for a new section); if
    someone saved since, nothing is saved and ``EditConflict`` says so (the text typed is
    kept by the form).
    """
    spec = SPECS.get(key)
    if spec is None:
        raise ReportError(_("There is no such section."))
    body = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(body) > MAX_BODY:
        raise ReportError(
            _("The text is too long (at most %(limit)d characters).") % {"limit": MAX_BODY},
            "body",
        )
    report, _created = AnnualReport.objects.get_or_create(fiscal_year=year)
    section, _created = ReportSection.objects.select_for_update().get_or_create(
        report=report,
        key=key,
        defaults={"kind": spec.kind, "sort_order": list(SPECS).index(key)},
    )
    latest = section.revisions.order_by("-id").values_list("id", flat=True).first()
    if latest is not None and latest != base_revision:
        raise EditConflict(
            _(
                "Someone else saved this section while you were editing. Your text is "
                "kept below: compare it with the newest version and save again."
            ),
            "body",
        )
    section.body = body
    section.updated_by = actor
    section.save(update_fields=["body", "updated_by", "updated_at"])
    revision = SectionRevision.objects.create(section=section, body=body, author=actor)
    audit_record(
        actor=actor,
        action="report.section_saved",
        target=section,
        data={"year": year, "section": key, "revision": revision.pk},
    )
    return section


def rollup_rebuild(*, actor: Any, months: list[date] | None = None) -> int:
    """Recompute the statistics rollup (all months, or those given); audited."""
    written = rollup.rebuild(months)
    audit_record(
        actor=actor,
        action="stats.rollup_rebuilt",
        data={
            "months": [m.isoformat() for m in months] if months is not None else "all",
            "rows": written,
        },
    )
    return written
