"""Fixtures for contact records: the demo lines and recording contacts the real way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from uketome.helpline.demo import load_lines
from uketome.helpline.models import Contact, Line, TaxonomyTerm, TermKind
from uketome.helpline.services import ContactData, contact_record
from uketome.helpline.taxonomy import current_version


@pytest.fixture
def lines(db: Any) -> dict[str, Line]:
    return {line.slug: line for line in load_lines()}


def term(kind: str, code: str) -> TaxonomyTerm:
    return TaxonomyTerm.objects.get(version=current_version(), kind=kind, code=code)


@pytest.fixture
def recorded(
    lines: dict[str, Line], personas: dict[str, Any], network: dict[str, Any]
) -> Callable[..., Contact]:
    """recorded(by="listener_tsu", risk="none", topics=[...], summary=...) -> Contact."""

    def record(
        by: str = "listener_tsu",
        site: str | None = "tsu",
        line: str = "childline",
        risk: str = "none",
        outcome: str = "conversation",
        topics: list[str] | None = None,
        summary: str = "友だちに無視されていると話した。",
        minutes_ago: int = 30,
        **extra: Any,
    ) -> Contact:
        started = timezone.now() - timedelta(minutes=minutes_ago)
        return contact_record(
            actor=personas[by],
            data=ContactData(
                line=lines[line],
                channel="phone",
                started_at=started,
                ended_at=started + timedelta(minutes=min(12, minutes_ago)),
                site=network[site] if site else None,
                listener=personas[by],
                outcome=term(TermKind.OUTCOME, outcome),
                age_band=term(TermKind.AGE_BAND, "junior_high"),
                gender=term(TermKind.GENDER, "girl"),
                topics=[term(TermKind.TOPIC, code) for code in (topics or ["human_relations"])],
                risk_level=term(TermKind.RISK_LEVEL, risk),
                summary=summary,
                **extra,
            ),
        )

    return record
