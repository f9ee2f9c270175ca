"""Demo data for the network: organizations, sites and projects from the seed document."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from uketome.network.models import CollaborativeProject, Organization, OrganizationKind, Site

DATA_FILE = Path(__file__).parent / "data" / "demo_network.toml"


def demo_data() -> dict[str, Any]:
    with DATA_FILE.open("rb") as handle:
        return tomllib.load(handle)


def load_network() -> dict[str, Any]:
    """Create or update the demo network. Safe to run again."""
    data = demo_data()
    operator, _ = Organization.objects.update_or_create(
        name=data["operator"]["name"],
        defaults={
            "short_name": data["operator"]["short_name"],
            "kind": OrganizationKind.NPO,
            "is_operator": True,
        },
    )
    for entry in data["signatories"]:
        Organization.objects.update_or_create(
            name=entry["name"],
            defaults={
                "kind": entry["kind"],
                "is_signatory": True,
                "is_member": entry.get("member", False),
            },
        )
    for order, entry in enumerate(data["sites"], start=1):
        Site.objects.update_or_create(
            slug=entry["slug"],
            defaults={
                "name": entry["name"],
                "area": entry["area"],
                "organization": operator,
                "sort_order": order,
            },
        )
    for entry in data["projects"]:
        started = entry.get("started_on")
        project, _ = CollaborativeProject.objects.update_or_create(
            number=entry["number"],
            defaults={
                "name": entry["name"],
                "description": entry.get("description", ""),
                "started_on": date.fromisoformat(started) if started else None,
            },
        )
        project.organizations.add(operator)
    return data
