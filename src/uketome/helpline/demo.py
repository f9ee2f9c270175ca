"""Demo lines (from the seed's published facts)."""

from __future__ import annotations

import tomllib
from datetime import time
from pathlib import Path

from django.db import transaction

from uketome.helpline.models import AnnualClosure, Line, OpeningHours

DATA_FILE = Path(__file__).parent / "data" / "demo_lines.toml"


@transaction.atomic
def load_lines() -> list[Line]:
    """Create or update the demo lines with their hours. Safe to run again."""
    with DATA_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    lines = []
    for order, entry in enumerate(data["lines"], start=1):
        line, _ = Line.objects.update_or_create(
            slug=entry["slug"],
            defaults={
                "name": entry["name"],
                "channels": entry["channels"],
                "phone_number": entry.get("phone_number", ""),
                "identity_policy": entry["identity_policy"],
                "audience": entry.get("audience", "children"),
                "always_open": entry.get("always_open", False),
                "retention_days": entry["retention_days"],
                "reply_target_hours": entry.get("reply_target_hours"),
                "sort_order": order,
            },
        )
        line.hours.all().delete()
        OpeningHours.objects.bulk_create(
            OpeningHours(
                line=line, weekday=day, opens=time.fromisoformat(a), closes=time.fromisoformat(b)
            )
            for day, a, b in entry.get("hours", [])
        )
        line.annual_closures.all().delete()
        AnnualClosure.objects.bulk_create(
            AnnualClosure(line=line, from_month=fm, from_day=fd, to_month=tm, to_day=td)
            for fm, fd, tm, td in entry.get("annual_closures", [])
        )
        lines.append(line)
    return lines
