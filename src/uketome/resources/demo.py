"""Demo data for the resource directory: national numbers, the prefecture's child
guidance centres and the seed's NPOs (data/demo_resources.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from uketome.resources.models import Resource
from uketome.resources.services import resource_put

DATA_FILE = Path(__file__).parent / "data" / "demo_resources.toml"


def demo_data() -> list[dict[str, Any]]:
    with DATA_FILE.open("rb") as handle:
        return list(tomllib.load(handle)["resources"])


def load_resources() -> list[Resource]:
    """Create or update the demo resources, all published. Safe to run again: an
    unchanged entry is not written (and not audited) again."""
    loaded = []
    for entry in demo_data():
        fields = dict(entry)
        resource, _changed = resource_put(
            actor=None,
            name=fields.pop("name"),
            municipality=fields.pop("municipality", ""),
            topics=fields.pop("topics", []),
            published=True,
            **fields,
        )
        loaded.append(resource)
    return loaded
