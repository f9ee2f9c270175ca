from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


def _load_taxonomy(sender: AppConfig, **kwargs: Any) -> None:
    """After `migrate`, load any taxonomy version file not yet in the database."""
    from uketome.helpline.taxonomy import load_all

    load_all()


class HelplineConfig(AppConfig):
    name = "uketome.helpline"
    label = "helpline"
    verbose_name = _("Helpline")

    def ready(self) -> None:
        post_migrate.connect(_load_taxonomy, sender=self, dispatch_uid="uketome-taxonomy")
        from uketome.helpline.models import TaxonomyTerm
        from uketome.helpline.taxonomy import forget_terms

        for signal in (post_save, post_delete):
            signal.connect(
                forget_terms, sender=TaxonomyTerm, dispatch_uid=f"uketome-terms-{signal}"
            )
