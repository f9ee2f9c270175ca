"""Forms of the lexicon admin: an entry that cannot be compiled is refused with the reason."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from uketome.triage.models import RISK_CATEGORIES, Category, Effect, LexiconEntry
from uketome.triage.scoring import EntrySpec, LexiconError, check_entry

MAX_TRY_LENGTH = 2000


class LexiconEntryForm(forms.ModelForm):
    applies_to = forms.MultipleChoiceField(
        label=_("applies to"),
        choices=[(code, label) for code, label in Category.choices if code in RISK_CATEGORIES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Context entries: the risk categories it shifts (none ticked: all)."),
    )

    class Meta:
        model = LexiconEntry
        fields = [
            "term",
            "name",
            "kind",
            "effect",
            "category",
            "level",
            "weight",
            "shift",
            "applies_to",
            "exceptions",
            "note",
            "active",
        ]
        widgets = {
            "term": forms.Textarea(attrs={"rows": 2}),
            "exceptions": forms.Textarea(attrs={"rows": 3}),
            "note": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        effect, category = data.get("effect"), data.get("category")
        if effect == Effect.RISK and category not in RISK_CATEGORIES:
            self.add_error("category", _("A risk entry needs a risk category."))
        if effect == Effect.CONTEXT:
            if category in RISK_CATEGORIES:
                self.add_error("category", _("A context entry needs a context category."))
            if not data.get("shift"):
                self.add_error("shift", _("A context entry needs a shift other than 0."))
        exceptions = tuple(
            line.strip() for line in data.get("exceptions", "").splitlines() if line.strip()
        )
        spec = EntrySpec(
            term=data.get("term", ""),
            kind=data.get("kind", ""),
            category=category or "",
            effect=effect or "",
            level=data.get("level", ""),
            exceptions=exceptions,
        )
        try:
            check_entry(spec)
        except LexiconError as error:
            self.add_error(None, _("This entry cannot be used: %(reason)s") % {"reason": error})
        return data


class TryForm(forms.Form):
    text = forms.CharField(
        label=_("Message"),
        max_length=MAX_TRY_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Written the way a child would. Nothing you type here is stored."),
    )
