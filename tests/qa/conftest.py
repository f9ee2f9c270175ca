"""Fixtures for the Q&A corner: the corner's line, and questions taken along the flow
by the real services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache

from uketome.accounts.roles import Role
from uketome.helpline.demo import load_lines
from uketome.helpline.models import Line
from uketome.qa import services
from uketome.qa.demo import load_corner
from uketome.qa.models import PublishedAnswer, Question


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    """Rate-limit counters live in the cache: start every test with none."""
    cache.clear()


@pytest.fixture
def corner(db: Any) -> Line:
    return load_corner()


@pytest.fixture
def lines(db: Any) -> dict[str, Line]:
    return {line.slug: line for line in load_lines()}


@pytest.fixture
def staff(personas: dict[str, Any], make_staff: Callable[..., Any]) -> dict[str, Any]:
    """The personas plus a second supervisor (at 津) and a listener at 鈴鹿."""
    return {
        **personas,
        "supervisor_tsu": make_staff(Role.SUPERVISOR, "tsu", "supervisor_tsu"),
        "listener_suzuka": make_staff(Role.LISTENER, "suzuka", "listener_suzuka"),
    }


@pytest.fixture
def asked(corner: Line) -> Callable[..., Question]:
    def ask(text: str = "友だちに無視されています。どうしたらいいですか。", **kw: Any) -> Question:
        return services.question_receive(text=text, **kw)

    return ask


@pytest.fixture
def in_review(asked: Callable[..., Question], staff: dict[str, Any]) -> Callable[..., Question]:
    """in_review(rewrite=..., answer=..., by="listener_tsu") -> a question waiting for
    approval."""

    def make(
        text: str = "友だちに無視されています。どうしたらいいですか。",
        rewrite: str = "友だちに無視されてつらいです。どうしたらいいですか。",
        answer: str = "つらかったね。信じられる大人に話してみてね。",
        category: str = "friends",
        by: str = "listener_tsu",
    ) -> Question:
        question = asked(text)
        services.qa_draft_save(
            actor=staff[by], question=question, category=category, rewrite=rewrite, answer=answer
        )
        services.qa_submit(actor=staff[by], question=question)
        question.refresh_from_db()
        return question

    return make


@pytest.fixture
def published(
    in_review: Callable[..., Question], staff: dict[str, Any]
) -> Callable[..., PublishedAnswer]:
    def make(**kw: Any) -> PublishedAnswer:
        question = in_review(**kw)
        return services.qa_approve(actor=staff["supervisor_suzuka"], question=question)

    return make
