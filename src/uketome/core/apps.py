from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    default = True
    name = "uketome.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # Register the permission rules with the rules package.
        from uketome.core import permissions  # noqa: F401


class UketomeAdminConfig(admin_apps.AdminConfig):
    """The Django admin, on uketome's admin site (staff sign-in, permission rules)."""

    default = False
    default_site = "uketome.core.admin_site.UketomeAdminSite"
