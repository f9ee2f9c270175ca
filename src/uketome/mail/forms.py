"""Forms for children's letters and the staff pages. They only parse; the services check
and give the messages (in kind, simple words on the children's side)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from uketome.helpline.models import TaxonomyTerm, TermKind
from uketome.helpline.taxonomy import current_version, terms
from uketome.mail.services import MAX_COMMENT_CHARS, MAX_LETTER_CHARS, MAX_REPLY_CHARS

# The taxonomy's topics a child can pick (in this order), by code.
CHILD_TOPICS = (
    "human_relations",
    "bullying",
    "family",
    "school",
    "study",
    "romance",
    "mind",
    "body",
    "career",
    "school_refusal",
    "online_trouble",
    "abuse",
    "sexual_interest",
    "chat",
    "other",
)

AGE_CHOICES = [
    ("", _("I do not want to say")),
    ("preschool", _("Before elementary school")),
    ("lower_elementary", _("Elementary school, grades 1 to 3")),
    ("upper_elementary", _("Elementary school, grades 4 to 6")),
    ("junior_high", _("Junior high school")),
    ("age_15_18", _("High school age (15 to 18)")),
]
GENDER_CHOICES = [
    ("", _("I do not want to say")),
    ("boy", _("I am a boy")),
    ("girl", _("I am a girl")),
    ("other_or_no_answer", _("Other")),
]


def child_topics() -> list[TaxonomyTerm]:
    found = {
        t.code: t for t in terms(current_version(), TermKind.TOPIC).filter(code__in=CHILD_TOPICS)
    }
    return [found[code] for code in CHILD_TOPICS if code in found]


class LetterForm(forms.Form):
    """The first letter. Lengths are checked by the service (with a kind message);
    the browser limit is a little above, so nothing typed is cut off silently."""

    line = forms.IntegerField(required=False, widget=forms.HiddenInput)
    body = forms.CharField(
        label=_("Your letter"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "maxlength": MAX_LETTER_CHARS + 1000}),
    )
    age_band = forms.ChoiceField(label=_("Your age"), choices=AGE_CHOICES, required=False)
    gender = forms.ChoiceField(label=_("You are"), choices=GENDER_CHOICES, required=False)
    topics = forms.MultipleChoiceField(
        label=_("What is it about?"), required=False, widget=forms.CheckboxSelectMultiple
    )
    notify = forms.BooleanField(required=False)
    notify_address = forms.CharField(required=False, max_length=254)
    client_ref = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, topics: list[TaxonomyTerm], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["topics"].choices = [(t.code, t.label) for t in topics]  # type: ignore[attr-defined]

    def clean_age_band(self) -> str:
        return str(self.cleaned_data.get("age_band") or "")

    def clean_gender(self) -> str:
        return str(self.cleaned_data.get("gender") or "")


class ReadForm(forms.Form):
    number = forms.CharField(label=_("Letter number"), max_length=40, required=False)
    secret = forms.CharField(label=_("Secret words"), max_length=200, required=False, strip=False)


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Reply"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "maxlength": MAX_REPLY_CHARS}),
    )


class ReviewForm(forms.Form):
    body = forms.CharField(
        label=_("Reply (you may edit it before approving)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "maxlength": MAX_REPLY_CHARS}),
    )
    comment = forms.CharField(
        label=_("Comment for the listener"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MAX_COMMENT_CHARS}),
    )


class FinishForm(forms.Form):
    summary = forms.CharField(
        label=_("Summary for the contact record"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    risk_level = forms.ModelChoiceField(
        label=_("Risk level"), queryset=TaxonomyTerm.objects.none(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["risk_level"].queryset = terms(current_version(), TermKind.RISK_LEVEL)  # type: ignore[attr-defined]
