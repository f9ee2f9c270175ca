"""The filters of the statistics page and the editor of a report section."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from uketome.core.dates import fiscal_year, fiscal_year_label
from uketome.helpline.models import Line
from uketome.network.models import Site
from uketome.stats.selectors import (
    FIRST_YEAR,
    LAST_YEAR,
    StatsFilters,
    fiscal_month,
    years_with_data,
)
from uketome.stats.services import MAX_BODY

VIEW_EXACT = "exact"
VIEW_PUBLISHED = "published"


def month_choices() -> list[tuple[int, str]]:
    return [(i, f"{fiscal_month(2000, i).month}月") for i in range(1, 13)]


class StatsFilterForm(forms.Form):
    year = forms.IntegerField(
        label=_("Fiscal year"),
        required=False,
        min_value=FIRST_YEAR,
        max_value=LAST_YEAR,
        widget=forms.Select,
        error_messages={
            "invalid": _("Choose a fiscal year from the list."),
            "min_value": _("Choose a fiscal year from the list."),
            "max_value": _("Choose a fiscal year from the list."),
        },
    )
    first_month = forms.TypedChoiceField(
        label=_("From month"),
        coerce=int,
        choices=month_choices,
        initial=1,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": _("Choose a month from the list.")},
    )
    last_month = forms.TypedChoiceField(
        label=_("To month"),
        coerce=int,
        choices=month_choices,
        initial=12,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": _("Choose a month from the list.")},
    )
    line = forms.ModelChoiceField(
        queryset=Line.objects.all(),
        required=False,
        label=_("Line"),
        empty_label=_("All"),
        error_messages={"invalid_choice": _("Choose from the list.")},
    )
    site = forms.ModelChoiceField(
        queryset=Site.objects.all(),
        required=False,
        label=_("Site"),
        empty_label=_("All"),
        error_messages={"invalid_choice": _("Choose from the list.")},
    )

    def __init__(
        self, data: Any = None, *args: Any, exact_allowed: bool = False, **kwargs: Any
    ) -> None:
        if data is not None:
            # A link with only ?year= shows the whole year (and the menus say so).
            data = data.copy()
            for name, default in (("first_month", "1"), ("last_month", "12")):
                if not data.get(name):
                    data[name] = default
        super().__init__(data, *args, **kwargs)
        this_year = fiscal_year(_today())
        with_data = years_with_data()
        self.default_year = with_data[0] if with_data else this_year
        years = {this_year, *with_data}
        asked = str(self.data.get("year", "")) if self.is_bound else ""
        if asked.isdigit() and FIRST_YEAR <= int(asked) <= LAST_YEAR:
            years.add(int(asked))  # an empty year stays selectable (and shows as empty)
        self.fields["year"].widget.choices = [
            (y, fiscal_year_label(y)) for y in sorted(years, reverse=True)
        ]
        self.fields["year"].initial = self.default_year
        if exact_allowed:
            self.fields["view"] = forms.ChoiceField(
                label=_("Figures"),
                required=False,
                choices=[
                    (VIEW_EXACT, _("Exact counts (secretariat)")),
                    (VIEW_PUBLISHED, _("As published (small counts hidden)")),
                ],
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("first_month") or 1, cleaned.get("last_month") or 12
        if first and last and last < first:
            self.add_error("last_month", _("The last month is before the first month."))
        return cleaned

    def filters(self) -> StatsFilters:
        """The filters asked for, or the newest year with data when the form is empty."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        year = data.get("year") or self.default_year
        return StatsFilters(
            year=max(FIRST_YEAR, min(LAST_YEAR, int(year))),
            first_month=data.get("first_month") or 1,
            last_month=data.get("last_month") or 12,
            line=data["line"].pk if data.get("line") else None,
            site=data["site"].pk if data.get("site") else None,
        )

    def wants_published(self) -> bool:
        return bool(
            self.is_bound and self.is_valid() and self.cleaned_data.get("view") == VIEW_PUBLISHED
        )


def _today() -> Any:
    from uketome.core.dates import local_date

    return local_date()


class SectionForm(forms.Form):
    body = forms.CharField(
        label=_("Text"),
        required=False,
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 14}),
        error_messages={
            "max_length": _("The text is too long (at most %(limit_value)d characters).")
        },
    )
    base_revision = forms.IntegerField(required=False, widget=forms.HiddenInput)
