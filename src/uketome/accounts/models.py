"""Staff accounts and their memberships (user x organization/site x role)."""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from uketome.accounts.roles import NARRATIVE_ROLES, SITE_ROLES, Role
from uketome.core.models import TimeStampedModel
from uketome.network.models import Organization, Site


class User(AbstractUser):
    """A staff member: volunteer, supervisor, secretariat, government partner.

    Children never have accounts. What a user may do comes from their memberships.
    """

    objects: ClassVar[UserManager[User]] = UserManager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """Family name first, as written in Japanese."""
        full = f"{self.last_name} {self.first_name}".strip()
        return full or self.username

    def active_roles(self) -> set[str]:
        from uketome.core.permissions import scope_of

        return set(scope_of(self).roles)

    @property
    def needs_two_factor(self) -> bool:
        """Whether this user may read counselling content and so must use 2FA."""
        return self.is_superuser or bool(self.active_roles() & NARRATIVE_ROLES)


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(active=True, user__is_active=True)


class Membership(TimeStampedModel):
    """A staff member's role in one organization, and for site roles at one site."""

    user = models.ForeignKey(
        User, verbose_name=_("staff member"), on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    site = models.ForeignKey(
        Site,
        verbose_name=_("site"),
        on_delete=models.PROTECT,
        related_name="memberships",
        null=True,
        blank=True,
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    active = models.BooleanField(_("active"), default=True)

    objects: ClassVar[MembershipQuerySet] = MembershipQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["site__sort_order", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "site", "role"],
                condition=models.Q(site__isnull=False),
                name="membership_unique_at_site",
            ),
            models.UniqueConstraint(
                fields=["user", "organization", "role"],
                condition=models.Q(site__isnull=True),
                name="membership_unique_networkwide",
            ),
            models.CheckConstraint(
                condition=~models.Q(role__in=sorted(SITE_ROLES)) | models.Q(site__isnull=False),
                name="site_role_has_site",
                violation_error_message=_(
                    "Listeners, supporters, supervisors and site coordinators belong to a site."
                ),
            ),
        ]
        indexes = [models.Index(fields=["user", "active"])]

    def __str__(self) -> str:
        where = self.site or self.organization
        return f"{self.user} - {self.get_role_display()} ({where})"
