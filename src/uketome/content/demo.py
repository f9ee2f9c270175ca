"""Demo content for the children's portal: published pages and news (demo mode only).

The texts live in ``data/demo_content.toml``. Loading again adds only what is missing and
never overwrites a page an editor has changed.
"""

from __future__ import annotations

import datetime
import tomllib
from pathlib import Path
from typing import Any

from django.utils import timezone

from uketome.content.models import NewsItem, Page
from uketome.content.services import news_publish, news_save, page_publish, page_save

DATA_FILE = Path(__file__).parent / "data" / "demo_content.toml"


def demo_data() -> dict[str, Any]:
    with DATA_FILE.open("rb") as handle:
        return tomllib.load(handle)


def load_pages() -> int:
    """Create and publish the demo pages not there yet (found by address); how many."""
    created = 0
    for entry in demo_data()["pages"]:
        if Page.objects.filter(slug=entry["slug"]).exists():
            continue
        page = page_save(
            actor=None,
            slug=entry["slug"],
            title=entry["title"],
            body=entry["body"],
            audience=entry["audience"],
            age_group=entry["age_group"],
            show_in_menu=entry["show_in_menu"],
            sort_order=entry["sort_order"],
            note="demo",
        )
        page_publish(actor=None, page=page)
        created += 1
    return created


def load_news(today: datetime.date | None = None) -> int:
    """Create and publish the demo news not there yet (found by title); how many.
    An event is dated ``days_from_today`` after ``today``."""
    today = today or timezone.localdate()
    created = 0
    for entry in demo_data()["news"]:
        if NewsItem.objects.filter(title=entry["title"]).exists():
            continue
        days = entry.get("days_from_today")
        item = news_save(
            actor=None,
            title=entry["title"],
            body=entry["body"],
            kind=entry["kind"],
            event_date=today + datetime.timedelta(days=days) if days is not None else None,
        )
        news_publish(actor=None, item=item)
        created += 1
    return created


def load_content() -> dict[str, int]:
    """Both: ``{"pages": n, "news": m}`` (the numbers created now)."""
    return {"pages": load_pages(), "news": load_news()}
