"""The shipped lexicon (``data/lexicon.toml``) as entry specs."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from uketome.triage.scoring import EntrySpec

DEFAULT_LEXICON = Path(__file__).parent / "data" / "lexicon.toml"


def spec_from_dict(data: dict[str, Any]) -> EntrySpec:
    """An entry spec from one ``[[entries]]`` table (unknown keys are refused)."""
    fields = dict(data)
    fields.pop("note", None)
    for key in ("applies_to", "exceptions"):
        if key in fields:
            fields[key] = tuple(fields[key])
    return EntrySpec(**fields)


def default_entries() -> list[dict[str, Any]]:
    """The shipped entries as tables (with their notes)."""
    with DEFAULT_LEXICON.open("rb") as handle:
        return list(tomllib.load(handle)["entries"])


def default_specs() -> list[EntrySpec]:
    return [spec_from_dict(entry) for entry in default_entries()]
