"""Reads of portal content: what the public may see, and what an editor may edit."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from uketome.content.models import NewsItem, NewsKind, Page, PageRevision, Status
from uketome.core.permissions import Rule

EDIT_PAGES = "content.change_page"
EDIT_NEWS = "content.change_newsitem"


def can_edit_pages(user: Any) -> bool:
    return Rule.registry[EDIT_PAGES].test(user)


def can_edit_news(user: Any) -> bool:
    return Rule.registry[EDIT_NEWS].test(user)


# --- the public ---------------------------------------------------------------------------


def published_page(slug: str) -> Page | None:
    return Page.objects.filter(slug=slug, status=Status.PUBLISHED).first()


def menu_pages(audience: str | None = None) -> QuerySet[Page]:
    """Published pages marked for the menu, in their order (for one audience if given)."""
    pages = Page.objects.filter(status=Status.PUBLISHED, show_in_menu=True)
    if audience is not None:
        pages = pages.filter(audience=audience)
    return pages.order_by("sort_order", "title")


def published_news_item(pk: int) -> NewsItem | None:
    return NewsItem.objects.filter(pk=pk, status=Status.PUBLISHED).first()


def news_for_the_public(
    today: datetime.date | None = None,
) -> tuple[list[NewsItem], list[NewsItem]]:
    """(events still to come, soonest first; everything else, newest first)."""
    today = today or timezone.localdate()
    published = NewsItem.objects.filter(status=Status.PUBLISHED)
    upcoming = list(
        published.filter(kind=NewsKind.EVENT, event_date__gte=today).order_by("event_date", "id")
    )
    others = list(
        published.exclude(pk__in=[item.pk for item in upcoming]).order_by("-published_at", "-id")[
            :50
        ]
    )
    return upcoming, others


# --- editors ------------------------------------------------------------------------------


def pages_for_editing(user: Any) -> QuerySet[Page]:
    return Rule.registry[EDIT_PAGES].filter(user, Page.objects.all())


def news_for_editing(user: Any) -> QuerySet[NewsItem]:
    return Rule.registry[EDIT_NEWS].filter(user, NewsItem.objects.all())


def page_history(page: Page) -> QuerySet[PageRevision]:
    return page.revisions.select_related("author", "restored_from").order_by("-id")
