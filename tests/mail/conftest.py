"""Fixtures for children's letters: the mail line answered at 津 and 鈴鹿, and sending a
letter the way a child does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.core.cache import cache
from django.utils import translation
from django.utils.translation import gettext

from uketome.accounts.models import User
from uketome.accounts.roles import Role
from uketome.helpline.demo import load_lines
from uketome.helpline.models import Line
from uketome.mail import secrets, services
from uketome.mail.models import MailSettings


def ja(msgid: str, **values: Any) -> str:
    """The Japanese a child sees for ``msgid`` (the English until the catalogue has it)."""
    with translation.override("ja"):
        text = gettext(msgid)
    return text % values if values else text


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 still, with small costs so the tests do not wait on hashing."""

    time_cost = 1
    memory_cost = 256
    parallelism = 1


@pytest.fixture(autouse=True)
def _fresh_cache(settings: Any) -> None:
    settings.PASSWORD_HASHERS = [
        "tests.mail.conftest.QuickArgon2PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]
    secrets._dummy_hash.cache_clear()
    cache.clear()


@pytest.fixture
def mail_line(db: Any, network: dict[str, Any]) -> Line:
    lines = {line.slug: line for line in load_lines()}
    line = lines["mail"]
    settings = services.settings_for(line)
    settings.sites.set([network["tsu"], network["suzuka"]])
    return line


@pytest.fixture
def mail_settings(mail_line: Line) -> MailSettings:
    return MailSettings.objects.get(line=mail_line)


@pytest.fixture
def staff(personas: dict[str, User], make_staff: Callable[..., User]) -> dict[str, User]:
    """The personas plus a second listener at 津, a supervisor at 津 and a supervisor at a
    site that does not answer letters."""
    from tests.factories import SiteFactory

    SiteFactory(name="伊勢", slug="ise")
    people = dict(personas)
    people["listener2_tsu"] = make_staff(Role.LISTENER, "tsu", "listener2_tsu")
    people["supervisor_tsu"] = make_staff(Role.SUPERVISOR, "tsu", "supervisor_tsu")
    return people


@pytest.fixture
def send(mail_line: Line) -> Callable[..., services.Sent]:
    def do(body: str = "友だちのことで、なやんでいます。", **extra: Any) -> services.Sent:
        return services.letter_send(data=services.NewLetter(line=mail_line, body=body, **extra))

    return do


@dataclass(frozen=True)
class FakeAssessment:
    level: str = "none"
    score: int = 0
    categories: tuple[str, ...] = ()

    @property
    def alert(self) -> bool:
        return self.level in ("high", "urgent")


# Words the stand-in triage reacts to (the real triage is tested in tests/triage).
RISK_WORDS = {"しにたい": "urgent", "なぐられる": "high", "ねむれない": "watch"}


def fake_assess(text: str) -> FakeAssessment:
    for word, level in RISK_WORDS.items():
        if word in text:
            return FakeAssessment(level=level, score=10, categories=("test",))
    return FakeAssessment()


@pytest.fixture(autouse=True)
def _triage(monkeypatch: pytest.MonkeyPatch) -> None:
    """The letters' risk comes from a stand-in with the triage's interface."""
    monkeypatch.setattr(services, "assess", fake_assess)
