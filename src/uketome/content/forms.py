"""Editor forms. They only parse what was typed; the rules live in ``services``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from uketome.content.models import AgeGroup, Audience, NewsKind
from uketome.content.services import MAX_NOTE, MAX_SORT_ORDER

BODY_HELP = _(
    'A blank line starts a new paragraph. A line that starts with "- " is a list item, '
    'one that starts with "## " a heading. {word|reading} gives a word its furigana.'
)


class PageForm(forms.Form):
    title = forms.CharField(label=_("Title"), required=False)
    slug = forms.CharField(
        label=_("Address"),
        required=False,
        help_text=_("Small letters a-z, digits and hyphens: the page is at /p/<address>/."),
        widget=forms.TextInput(attrs={"aria-describedby": "id_slug-hint"}),
    )
    body = forms.CharField(
        label=_("Text"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "aria-describedby": "id_body-hint"}),
        help_text=BODY_HELP,
    )
    audience = forms.ChoiceField(label=_("For whom"), choices=Audience.choices)
    age_group = forms.ChoiceField(label=_("Age group"), choices=AgeGroup.choices)
    show_in_menu = forms.BooleanField(label=_("Show in the menu"), required=False)
    sort_order = forms.IntegerField(
        label=_("Order in the menu"), min_value=0, max_value=MAX_SORT_ORDER, initial=0
    )
    note = forms.CharField(label=_("What changed (optional)"), required=False, max_length=MAX_NOTE)
    # The newest revision when the form was opened (to notice someone else's save).
    revision = forms.IntegerField(required=False, widget=forms.HiddenInput)


class NewsForm(forms.Form):
    title = forms.CharField(label=_("Title"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=NewsKind.choices)
    event_date = forms.DateField(
        label=_("Date of the event"),
        required=False,
        widget=forms.DateInput(
            attrs={"type": "date", "aria-describedby": "id_event_date-hint"}, format="%Y-%m-%d"
        ),
        help_text=_("For events only."),
    )
    body = forms.CharField(
        label=_("Text"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 16, "aria-describedby": "id_body-hint"}),
        help_text=BODY_HELP,
    )
