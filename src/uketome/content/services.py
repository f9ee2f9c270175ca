"""Writes on portal content: save (with a revision), publish, unpublish, restore.

Every write runs in one transaction with its audit entry (``content.*`` actions).
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from uketome.content.models import (
    AgeGroup,
    Audience,
    NewsItem,
    NewsKind,
    Page,
    PageRevision,
    Status,
)
from uketome.core.audit import audit_record

MAX_TITLE = 200
MAX_BODY = 20_000
MAX_SLUG = 60
MAX_NOTE = 200
MAX_SORT_ORDER = 32767
SLUG_FORMAT = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Addresses taken by the public pages themselves (/p/news/).
RESERVED_SLUGS = frozenset({"news"})


class ContentError(ValueError):
    """Content that cannot be saved as given; ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class EditConflict(ContentError):
    """Someone else saved the page after the editor opened it."""


def _text(value: str) -> str:
    """Line ends made \\n, spaces at both ends removed."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise ContentError(_("Give a title."), "title")
    if len(title) > MAX_TITLE:
        raise ContentError(
            _("The title is too long (at most %(limit)d characters).") % {"limit": MAX_TITLE},
            "title",
        )
    return title


def _check_body(body: str) -> str:
    body = _text(body)
    if len(body) > MAX_BODY:
        raise ContentError(
            _("The text is too long: %(length)d characters (at most %(limit)d).")
            % {"length": len(body), "limit": MAX_BODY},
            "body",
        )
    return body


def _check_slug(slug: str, page: Page | None) -> str:
    slug = slug.strip()
    if not slug:
        raise ContentError(_("Give the page an address."), "slug")
    if len(slug) > MAX_SLUG or not SLUG_FORMAT.fullmatch(slug):
        raise ContentError(
            _(
                "The address may use only small letters a-z, digits and hyphens "
                "(for example what-happens), at most %(limit)d characters."
            )
            % {"limit": MAX_SLUG},
            "slug",
        )
    if slug in RESERVED_SLUGS:
        raise ContentError(_("This address is kept for the site itself."), "slug")
    taken = Page.objects.filter(slug=slug)
    if page is not None:
        taken = taken.exclude(pk=page.pk)
    if taken.exists():
        raise ContentError(_("Another page already has this address."), "slug")
    return slug


def _check_choice(value: str, choices: list[str], field: str) -> str:
    if value not in choices:
        raise ContentError(_("Choose from the list."), field)
    return value


def _latest_revision_id(page: Page) -> int | None:
    return page.revisions.order_by("-id").values_list("id", flat=True).first()


# --- Pages --------------------------------------------------------------------------------


def page_save(
    *,
    actor: Any,
    page: Page | None = None,
    slug: str,
    title: str,
    body: str,
    audience: str = Audience.CHILDREN,
    age_group: str = AgeGroup.ALL,
    show_in_menu: bool = False,
    sort_order: int = 0,
    note: str = "",
    expected_revision: int | None = None,
) -> Page:
    """Create a page (``page=None``, as a draft) or change one; keep a revision either way.

    ``expected_revision``: the newest revision when the editor opened the page; if someone
    saved since, nothing is saved (so their work is not overwritten unseen).
    A published page stays published: its new text is what children see.
    """
    title = _check_title(title)
    body = _check_body(body)
    audience = _check_choice(audience, Audience.values, "audience")
    age_group = _check_choice(age_group, AgeGroup.values, "age_group")
    if not 0 <= sort_order <= MAX_SORT_ORDER:
        raise ContentError(_("Choose a number from 0 to 32767."), "sort_order")
    note = " ".join(note.split())[:MAX_NOTE]
    try:
        with transaction.atomic():
            created = page is None
            if page is None:
                page = Page()
            else:
                page = Page.objects.select_for_update().get(pk=page.pk)
                if expected_revision is not None and _latest_revision_id(page) != expected_revision:
                    raise EditConflict(
                        _(
                            "Someone else saved this page while you were editing it. "
                            "Your text is kept below: compare it with the history, "
                            "then save again to replace their version."
                        )
                    )
            page.slug = _check_slug(slug, None if created else page)
            page.title = title
            page.body = body
            page.audience = audience
            page.age_group = age_group
            page.show_in_menu = show_in_menu
            page.sort_order = sort_order
            page.save()
            revision = PageRevision.objects.create(
                page=page, title=title, body=body, author=_author(actor), note=note
            )
            audit_record(
                actor=actor,
                action="content.page_saved",
                target=page,
                data={"slug": page.slug, "revision": revision.pk, "created": created},
            )
    except IntegrityError as error:
        # Two people created a page with the same address at the same moment.
        raise ContentError(_("Another page already has this address."), "slug") from error
    return page


def page_publish(*, actor: Any, page: Page) -> Page:
    """Show the page to the public at /p/<slug>/."""
    with transaction.atomic():
        page = Page.objects.select_for_update().get(pk=page.pk)
        if not page.body.strip():
            raise ContentError(_("Write the text before publishing the page."), "body")
        page.status = Status.PUBLISHED
        page.published_at = timezone.now()
        page.save(update_fields=["status", "published_at", "updated_at"])
        audit_record(
            actor=actor, action="content.page_published", target=page, data={"slug": page.slug}
        )
    return page


def page_unpublish(*, actor: Any, page: Page) -> Page:
    """Take the page off the public site (it becomes a draft again)."""
    with transaction.atomic():
        page = Page.objects.select_for_update().get(pk=page.pk)
        page.status = Status.DRAFT
        page.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor, action="content.page_unpublished", target=page, data={"slug": page.slug}
        )
    return page


def page_restore(*, actor: Any, revision: PageRevision) -> PageRevision:
    """Bring back an earlier version's title and text, as a new revision (nothing is lost).

    The page keeps its status: if it is published, the restored text is what children see.
    """
    with transaction.atomic():
        page = Page.objects.select_for_update().get(pk=revision.page_id)
        page.title = revision.title
        page.body = revision.body
        page.save(update_fields=["title", "body", "updated_at"])
        restored = PageRevision.objects.create(
            page=page,
            title=revision.title,
            body=revision.body,
            author=_author(actor),
            restored_from=revision,
        )
        audit_record(
            actor=actor,
            action="content.page_restored",
            target=page,
            data={"slug": page.slug, "from_revision": revision.pk, "revision": restored.pk},
        )
    return restored


# --- News ---------------------------------------------------------------------------------


def news_save(
    *,
    actor: Any,
    item: NewsItem | None = None,
    title: str,
    body: str,
    kind: str = NewsKind.NEWS,
    event_date: datetime.date | None = None,
) -> NewsItem:
    """Create a news item (as a draft) or change one. An event needs its date."""
    title = _check_title(title)
    body = _check_body(body)
    kind = _check_choice(kind, NewsKind.values, "kind")
    if kind == NewsKind.EVENT and event_date is None:
        raise ContentError(_("Give the date of the event."), "event_date")
    if kind != NewsKind.EVENT:
        event_date = None
    with transaction.atomic():
        created = item is None
        item = NewsItem() if item is None else NewsItem.objects.select_for_update().get(pk=item.pk)
        item.title = title
        item.body = body
        item.kind = kind
        item.event_date = event_date
        item.save()
        audit_record(
            actor=actor,
            action="content.news_saved",
            target=item,
            data={"kind": kind, "created": created},
        )
    return item


def news_publish(*, actor: Any, item: NewsItem) -> NewsItem:
    with transaction.atomic():
        item = NewsItem.objects.select_for_update().get(pk=item.pk)
        if not item.body.strip():
            raise ContentError(_("Write the text before publishing the page."), "body")
        item.status = Status.PUBLISHED
        item.published_at = timezone.now()
        item.save(update_fields=["status", "published_at", "updated_at"])
        audit_record(actor=actor, action="content.news_published", target=item)
    return item


def news_unpublish(*, actor: Any, item: NewsItem) -> NewsItem:
    with transaction.atomic():
        item = NewsItem.objects.select_for_update().get(pk=item.pk)
        item.status = Status.DRAFT
        item.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="content.news_unpublished", target=item)
    return item


def _author(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None
