"""Portal content: pages (every save kept as a revision) and news items.

Written only by ``uketome.content.services``; the public sees only what is published
(``uketome.content.selectors``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from uketome.core.models import TimeStampedModel


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class Audience(models.TextChoices):
    CHILDREN = "children", _("Children")
    ADULTS = "adults", _("Adults")
    FOSTER_PARENTS = "foster_parents", _("Foster parents")


class AgeGroup(models.TextChoices):
    ALL = "all", _("All ages")
    ELEMENTARY = "elementary", _("Elementary school")
    JUNIOR_HIGH = "junior_high", _("Junior high school")
    HIGH_SCHOOL = "high_school", _("High school")


class NewsKind(models.TextChoices):
    NEWS = "news", _("News")
    EVENT = "event", _("Event for children")


class Page(TimeStampedModel):
    """A page of the children's portal at ``/p/<slug>/``.

    ``body`` is plain text with light markup (see ``uketome.content.render``). The page
    holds its current text; every save also keeps a ``PageRevision``.
    """

    slug = models.SlugField(_("address"), max_length=60, unique=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    audience = models.CharField(
        _("audience"), max_length=20, choices=Audience.choices, default=Audience.CHILDREN
    )
    age_group = models.CharField(
        _("age group"), max_length=20, choices=AgeGroup.choices, default=AgeGroup.ALL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    show_in_menu = models.BooleanField(_("show in the menu"), default=False)

    class Meta:
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        ordering = ["sort_order", "title"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=Status.PUBLISHED) | Q(published_at__isnull=False),
                name="content_page_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == Status.PUBLISHED


class PageRevision(models.Model):
    """A saved version of a page: made by every save and every restore, never changed."""

    page = models.ForeignKey(
        Page, verbose_name=_("page"), on_delete=models.CASCADE, related_name="revisions"
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("saved"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    restored_from = models.ForeignKey(
        "self",
        verbose_name=_("restored from"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("page revision")
        verbose_name_plural = _("page revisions")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.page_id}: {self.created_at:%Y-%m-%d %H:%M}"


class NewsItem(TimeStampedModel):
    """News, or an event for children (with its date), at ``/p/news/<id>/``."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=NewsKind.choices)
    event_date = models.DateField(_("event date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        verbose_name = _("news item")
        verbose_name_plural = _("news")
        ordering = ["-published_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind=NewsKind.EVENT) | Q(event_date__isnull=False),
                name="content_event_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.PUBLISHED) | Q(published_at__isnull=False),
                name="content_news_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == Status.PUBLISHED

    @property
    def is_event(self) -> bool:
        return self.kind == NewsKind.EVENT
