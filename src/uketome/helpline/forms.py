"""The phone log form and the filters of the contact list."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from uketome.core.dates import TOKYO
from uketome.helpline.models import Channel, Line, RepeatContact, TaxonomyTerm, TermKind
from uketome.helpline.services import ContactData
from uketome.helpline.taxonomy import terms
from uketome.network.models import Site

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class TermChoiceField(forms.ModelChoiceField[TaxonomyTerm]):
    def label_from_instance(self, obj: TaxonomyTerm) -> str:
        return obj.label


class TermMultipleChoiceField(forms.ModelMultipleChoiceField[TaxonomyTerm]):
    def label_from_instance(self, obj: TaxonomyTerm) -> str:
        return obj.label


def _term_field(version: Any, kind: str, label: Any, *, radio: bool = False) -> TermChoiceField:
    return TermChoiceField(
        queryset=terms(version, kind),
        to_field_name="code",
        required=False,
        label=label,
        empty_label=None if radio else "―",
        widget=forms.RadioSelect if radio else forms.Select,
        error_messages={"invalid_choice": _("Choose from the list.")},
    )


class ContactForm(forms.Form):
    """A contact as the listener records it. Field order is the tab order."""

    client_ref = forms.UUIDField(widget=forms.HiddenInput, required=False)
    # "1" while the start is still the time the form was opened (the page's script sets it
    # to "0" when the listener edits the start). A call recorded right after it ended then
    # counts back from now instead of ending in the future.
    started_at_auto = forms.BooleanField(widget=forms.HiddenInput, required=False, initial=True)
    started_at = forms.DateTimeField(
        label=_("Started"),
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
        error_messages={
            "required": _("Enter when the contact started."),
            "invalid": _("Enter the date and time as 2026-11-26 20:55."),
        },
    )
    minutes = forms.IntegerField(
        label=_("Minutes"),
        min_value=0,
        max_value=720,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "size": 4}),
        error_messages={
            "min_value": _("The length cannot be negative."),
            "max_value": _("A contact cannot last more than 12 hours."),
            "invalid": _("Enter the length in whole minutes."),
        },
    )
    line = forms.ModelChoiceField(
        queryset=Line.objects.filter(active=True),
        label=_("Line"),
        empty_label=None,
        error_messages={"invalid_choice": _("Choose a line from the list.")},
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    repeat = forms.ChoiceField(
        label=_("Called before?"),
        choices=RepeatContact.choices,
        initial=RepeatContact.UNKNOWN,
        widget=forms.RadioSelect,
    )
    summary = forms.CharField(
        label=_("Summary"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": _("Keep the summary under %(limit_value)d characters.")},
    )
    notes = forms.CharField(
        label=_("Notes for the review"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    identified_with_consent = forms.BooleanField(
        label=_("The child agreed to be identified and linked to an agency"), required=False
    )
    identification = forms.CharField(
        label=_("Identification (only with the child's consent)"), required=False, max_length=500
    )

    def __init__(self, *args: Any, version: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = version
        self.fields["outcome"] = _term_field(version, TermKind.OUTCOME, _("Outcome"), radio=True)
        self.fields["outcome"].required = True
        self.fields["outcome"].error_messages["required"] = _("Choose the outcome of the call.")
        self.fields["age_band"] = _term_field(version, TermKind.AGE_BAND, _("Age"), radio=True)
        self.fields["gender"] = _term_field(version, TermKind.GENDER, _("Gender"), radio=True)
        self.fields["grade"] = _term_field(version, TermKind.GRADE, _("Grade"))
        self.fields["topics"] = TermMultipleChoiceField(
            queryset=terms(version, TermKind.TOPIC),
            to_field_name="code",
            required=False,
            label=_("Topics"),
            widget=forms.CheckboxSelectMultiple,
            error_messages={"invalid_choice": _("%(value)s is not a topic on the list.")},
        )
        self.fields["main_concern"] = _term_field(version, TermKind.MAIN_CONCERN, _("Main concern"))
        self.fields["feelings"] = TermMultipleChoiceField(
            queryset=terms(version, TermKind.FEELING),
            to_field_name="code",
            required=False,
            label=_("Feelings"),
            widget=forms.CheckboxSelectMultiple,
            error_messages={"invalid_choice": _("%(value)s is not a feeling on the list.")},
        )
        self.fields["relationship"] = _term_field(version, TermKind.RELATIONSHIP, _("Relationship"))
        self.fields["setting"] = _term_field(version, TermKind.SETTING, _("Setting"))
        self.fields["risk_level"] = _term_field(version, TermKind.RISK_LEVEL, _("Risk"), radio=True)
        self.order_fields(
            [
                "client_ref",
                "started_at_auto",
                "outcome",
                "minutes",
                "age_band",
                "gender",
                "topics",
                "feelings",
                "risk_level",
                "summary",
                "grade",
                "repeat",
                "main_concern",
                "relationship",
                "setting",
                "notes",
                "started_at",
                "line",
                "channel",
                "identified_with_consent",
                "identification",
            ]
        )

    def clean_started_at(self) -> datetime:
        started: datetime = self.cleaned_data["started_at"]
        if timezone.is_naive(started):
            started = started.replace(tzinfo=TOKYO)
        if started > timezone.now() + timedelta(minutes=5):
            raise forms.ValidationError(_("The start time is in the future."))
        if started < timezone.now() - timedelta(days=366):
            raise forms.ValidationError(_("The start is more than a year ago."))
        return started

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        started = cleaned.get("started_at")
        minutes = cleaned.get("minutes")
        if started and minutes is not None:
            ended = started + timedelta(minutes=minutes)
            now = timezone.now()
            if cleaned.get("started_at_auto") and ended > now:
                # Recorded just after the call: it ended now and began `minutes` ago.
                ended = now.replace(second=0, microsecond=0)
                started = ended - timedelta(minutes=minutes)
                cleaned["started_at"] = started
            if ended > timezone.now() + timedelta(minutes=5):
                self.add_error("minutes", _("The contact would end in the future."))
            cleaned["ended_at"] = ended
        else:
            cleaned["ended_at"] = None
        return cleaned

    def contact_data(self, *, site: Site | None, listener: Any, **source: Any) -> ContactData:
        """The valid form as the record service takes it (``source``: source_kind/_id)."""
        data = self.cleaned_data
        return ContactData(
            line=data["line"],
            channel=data["channel"],
            started_at=data["started_at"],
            ended_at=data["ended_at"],
            site=site,
            listener=listener,
            outcome=data.get("outcome"),
            age_band=data.get("age_band"),
            gender=data.get("gender"),
            grade=data.get("grade"),
            repeat=data["repeat"],
            topics=list(data.get("topics") or []),
            feelings=list(data.get("feelings") or []),
            main_concern=data.get("main_concern"),
            relationship=data.get("relationship"),
            setting=data.get("setting"),
            risk_level=data.get("risk_level"),
            summary=data["summary"],
            notes=data["notes"],
            identified_with_consent=data["identified_with_consent"],
            identification=data["identification"],
            client_ref=data.get("client_ref"),
            **source,
        )


def initial_started_at() -> str:
    """Now, to the minute, in Tokyo: the form's default start."""
    return timezone.localtime(timezone.now(), TOKYO).strftime(DATETIME_FORMAT)


class ContactFilterForm(forms.Form):
    line = forms.ModelChoiceField(
        queryset=Line.objects.all(), required=False, label=_("Line"), empty_label=_("All")
    )
    date_from = forms.DateField(
        required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"})
    )
    topic = forms.ModelChoiceField(
        queryset=TaxonomyTerm.objects.none(),
        required=False,
        label=_("Topic"),
        empty_label=_("All"),
    )
    risk = forms.TypedChoiceField(
        required=False,
        label=_("Risk at least"),
        coerce=int,
        empty_value=None,
        choices=[("", _("All")), (1, _("Watch")), (2, _("High")), (3, _("Urgent"))],
    )
    escalated = forms.BooleanField(required=False, label=_("Escalated only"))

    def __init__(self, *args: Any, version: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["topic"].queryset = terms(version, TermKind.TOPIC)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned


class EscalationDecisionForm(forms.Form):
    action = forms.ModelChoiceField(
        queryset=TaxonomyTerm.objects.none(),
        label=_("Decision"),
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what was decided.")},
    )
    to_whom = forms.CharField(label=_("To whom"), required=False, max_length=200)
    acted_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        input_formats=[DATETIME_FORMAT],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, version: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["action"]
        field.queryset = terms(version, TermKind.ESCALATION_ACTION)  # type: ignore[attr-defined]
        field.label_from_instance = lambda term: term.label  # type: ignore[attr-defined]

    def clean_acted_at(self) -> datetime | None:
        acted: datetime | None = self.cleaned_data.get("acted_at")
        if acted and timezone.is_naive(acted):
            acted = acted.replace(tzinfo=TOKYO)
        return acted
