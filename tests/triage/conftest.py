"""Fixtures for the risk triage tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from uketome.triage import scoring


@pytest.fixture(autouse=True)
def _fresh_lexicon() -> Iterator[None]:
    """Each test starts and ends with no compiled lexicon in the process (a test's
    database edits are rolled back, which no signal reports)."""
    scoring.invalidate()
    yield
    scoring.invalidate()
