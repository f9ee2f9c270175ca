"""Fixtures for the statistics: a small year of contacts whose figures are worked out by
hand in the tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.helpline.conftest import lines, term  # noqa: F401 - fixtures
from uketome.core.dates import TOKYO
from uketome.helpline.models import Contact, TermKind
from uketome.helpline.services import ContactData, contact_record


@pytest.fixture
def record(
    lines: dict[str, Any],  # noqa: F811
    personas: dict[str, Any],
    network: dict[str, Any],
) -> Callable[..., Contact]:
    """record(at, line=, channel=, site=, outcome=, age=, gender=, topics=, feelings=,
    risk=, repeat=) -> a contact recorded through the service."""

    def do(
        at: datetime,
        *,
        line: str = "childline",
        channel: str = "phone",
        site: str | None = "tsu",
        outcome: str | None = "conversation",
        age: str | None = None,
        gender: str | None = None,
        topics: tuple[str, ...] = (),
        feelings: tuple[str, ...] = (),
        risk: str | None = None,
        repeat: str = "unknown",
        minutes: int = 10,
        concern: str | None = None,
    ) -> Contact:
        def t(kind: str, code: str | None) -> Any:
            return term(kind, code) if code else None

        return contact_record(
            actor=personas["listener_tsu"],
            data=ContactData(
                line=lines[line],
                channel=channel,
                started_at=at,
                ended_at=at + timedelta(minutes=minutes),
                site=network[site] if site else None,
                listener=personas["listener_tsu"],
                outcome=t(TermKind.OUTCOME, outcome),
                age_band=t(TermKind.AGE_BAND, age),
                gender=t(TermKind.GENDER, gender),
                topics=[term(TermKind.TOPIC, c) for c in topics],
                feelings=[term(TermKind.FEELING, c) for c in feelings],
                risk_level=t(TermKind.RISK_LEVEL, risk),
                main_concern=t(TermKind.MAIN_CONCERN, concern),
                repeat=repeat,
                summary="SECRET-NARRATIVE 友だちのこと",
            ),
        )

    return do


def tokyo(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


@pytest.fixture
def small_year(
    record: Callable[..., Contact], django_capture_on_commit_callbacks: Any
) -> list[Contact]:
    """Six contacts; four in FY2025 (April 2025 - March 2026), one in FY2024, one in
    FY2026. Counted by the after-commit hook, as in production."""
    with django_capture_on_commit_callbacks(execute=True):
        contacts = [
            # Thu 10 April 2025, 17:30, phone conversation at 津.
            record(
                tokyo(2025, 4, 10, 17, 30),
                age="junior_high",
                gender="girl",
                topics=("human_relations", "bullying"),
                feelings=("anxious",),
                risk="none",
                repeat="first",
                concern="school",
            ),
            # Fri 11 April 2025, 18:10, a silent call.
            record(tokyo(2025, 4, 11, 18, 10), outcome="silent", minutes=1),
            # Sat 3 May 2025, 19:20, a chat at 鈴鹿.
            record(
                tokyo(2025, 5, 3, 19, 20),
                line="chat",
                channel="chat",
                site="suzuka",
                outcome=None,
                age="age_15_18",
                gender="boy",
                topics=("sexual_interest",),
                risk="watch",
                repeat="repeat",
                minutes=40,
            ),
            # Tue 31 March 2026, 20:59 (still FY2025), hotdial, no site, high risk.
            record(
                tokyo(2026, 3, 31, 20, 59),
                line="hotdial",
                site=None,
                age="junior_high",
                gender="girl",
                topics=("abuse",),
                risk="high",
                repeat="repeat",
                concern="home",
            ),
            # 1 April 2026 00:10: FY2026, a letter.
            record(tokyo(2026, 4, 1, 0, 10), line="mail", channel="mail", outcome=None, site=None),
            # 1 June 2024: FY2024, the previous year.
            record(
                tokyo(2024, 6, 1, 17, 0), age="junior_high", gender="girl", topics=("bullying",)
            ),
        ]
    return contacts
