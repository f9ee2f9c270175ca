"""Statistics (統計) and the annual report (年次報告).

``MonthlyCount`` is a rollup of the contact records, kept current by
``uketome.stats.rollup`` (one upsert per contact recorded, a rebuild command and a nightly
rebuild), so that a year's report reads ~100,000 small rows instead of grouping a million
contacts per table. ``AnnualReport`` holds the commentary and proposals (提言) that the
secretariat and government partners write together; every save is a ``SectionRevision``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from uketome.core.models import TimeStampedModel


class MonthlyCount(models.Model):
    """How many contacts of one month, line, site and channel had ``key`` on ``dim``.

    ``site_id`` is 0 for a contact without a site (so the unique key holds). ``key`` is a
    taxonomy term id for term dimensions (the term as recorded; reports map it to the
    current version), an hour or weekday number, a code, or "" for "all" / not recorded.
    """

    month = models.DateField()
    line_id = models.IntegerField()
    site_id = models.IntegerField(default=0)
    channel = models.CharField(max_length=20)
    dim = models.CharField(max_length=20)
    key = models.CharField(max_length=40, blank=True)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["month", "line_id", "site_id", "channel", "dim", "key"],
                name="stats_monthly_unique",
            )
        ]
        indexes = [models.Index(fields=["dim", "month"], name="stats_monthly_dim")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.line_id}/{self.site_id}/{self.channel} {self.dim}"


class AnnualReport(TimeStampedModel):
    """The annual report of one fiscal year: its sections of commentary and proposals."""

    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"), unique=True)
    title = models.CharField(_("title"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("annual report")
        verbose_name_plural = _("annual reports")
        ordering = ["-fiscal_year"]

    def __str__(self) -> str:
        return str(self.fiscal_year)


class SectionKind(models.TextChoices):
    COMMENTARY = "commentary", _("Commentary")
    PROPOSALS = "proposals", _("Proposals")


class ReportSection(TimeStampedModel):
    """A section of commentary (所見) or the proposals (提言). Its text is the newest
    revision's; it is never about one child (the form says so)."""

    report = models.ForeignKey(AnnualReport, on_delete=models.CASCADE, related_name="sections")
    key = models.SlugField(max_length=40)
    kind = models.CharField(max_length=20, choices=SectionKind.choices)
    body = models.TextField(_("text"), blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("report section")
        verbose_name_plural = _("report sections")
        ordering = ["report", "sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["report", "key"], name="stats_section_unique")
        ]

    def __str__(self) -> str:
        return f"{self.report_id}: {self.key}"


class SectionRevision(models.Model):
    """One save of a section: never changed."""

    section = models.ForeignKey(ReportSection, on_delete=models.CASCADE, related_name="revisions")
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

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.section_id}: {self.created_at:%Y-%m-%d %H:%M}"
