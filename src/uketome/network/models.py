"""The network: organizations, sites (拠点) and collaborative projects (協働事業)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from uketome.core.models import TimeStampedModel


class OrganizationKind(models.TextChoices):
    GOVERNMENT = "government", _("Government department")
    NPO = "npo", _("NPO or other private organization")


class Organization(TimeStampedModel):
    """An organization of the network (団体): a government department or an NPO.

    ``is_signatory``: signed the network agreement (協定書署名団体).
    ``is_member``: member organization of the operating NPO (加盟団体; private only).
    ``is_operator``: the NPO that operates the lines.
    """

    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(_("short name"), max_length=60, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganizationKind.choices)
    is_signatory = models.BooleanField(_("agreement signatory"), default=False)
    is_member = models.BooleanField(_("member organization"), default=False)
    is_operator = models.BooleanField(_("operating organization"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(is_member=True, kind=OrganizationKind.GOVERNMENT),
                name="member_is_private",
                violation_error_message=_("Member organizations are private organizations."),
            ),
            models.UniqueConstraint(
                fields=["is_operator"],
                condition=models.Q(is_operator=True),
                name="one_operator",
                violation_error_message=_("Only one organization operates the network."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Site(TimeStampedModel):
    """A site (実施拠点) where volunteers answer the lines."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("code"), max_length=40, unique=True)
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("operating organization"),
        on_delete=models.PROTECT,
        related_name="sites",
    )
    area = models.CharField(_("area covered"), max_length=200, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class CollaborativeProject(TimeStampedModel):
    """A collaborative project (協働事業) of government and NPOs under the agreement."""

    number = models.PositiveSmallIntegerField(_("number"), unique=True)
    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    started_on = models.DateField(_("started"), null=True, blank=True)
    organizations = models.ManyToManyField(
        Organization,
        verbose_name=_("organizations"),
        related_name="projects",
        blank=True,
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("collaborative project")
        verbose_name_plural = _("collaborative projects")
        ordering = ["number"]

    def __str__(self) -> str:
        return self.name
