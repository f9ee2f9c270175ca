from typing import Any

from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


def _seed(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After migrate: copy the shipped lexicon into an empty table."""
    from uketome.triage.models import LexiconEntry
    from uketome.triage.services import lexicon_load_defaults

    if not LexiconEntry.objects.using(using).exists():
        lexicon_load_defaults(actor=None, audit=False)


def _changed(sender: Any, **kwargs: Any) -> None:
    """An entry was saved or deleted: this process drops its compiled lexicon now and
    again when the change is committed (other processes notice within seconds)."""
    from uketome.triage import scoring

    scoring.invalidate()
    transaction.on_commit(scoring.invalidate)


class TriageConfig(AppConfig):
    name = "uketome.triage"
    label = "triage"
    verbose_name = _("Risk triage")

    def ready(self) -> None:
        from uketome.triage import scoring
        from uketome.triage.services import lexicon_specs, lexicon_version

        scoring.set_source(lexicon_specs, lexicon_version)
        post_migrate.connect(_seed, sender=self, dispatch_uid="triage-seed")
        entry = self.get_model("LexiconEntry")
        post_save.connect(_changed, sender=entry, dispatch_uid="triage-saved")
        post_delete.connect(_changed, sender=entry, dispatch_uid="triage-deleted")
