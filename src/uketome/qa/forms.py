"""Forms of the Q&A corner: the child's question (children's page) and the staff steps."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from uketome.qa.models import Category

#: The longest search that is used; longer input is cut, not refused.
MAX_QUERY_LENGTH = 100


class AskForm(forms.Form):
    """The child's question. Length rules are the service's (clear messages); the
    ``website`` field is a trap for robots and stays empty for people."""

    text = forms.CharField(
        label=_("Your question"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    category = forms.CharField(label=_("What is it about? (you can skip this)"), required=False)
    website = forms.CharField(required=False, label=_("Leave this empty"))

    #: The choices shown (an unknown value is ignored, never an error).
    category_choices = [("", _("I do not know")), *Category.choices]

    def __init__(self, data: QueryDict | None = None) -> None:
        if data is not None:
            data = data.copy()
            for name in ("text", "category", "website"):
                # NUL would be refused by the field; it is never part of a question.
                data[name] = data.get(name, "").replace("\x00", "")
        super().__init__(data)

    def clean_category(self) -> str:
        value = str(self.cleaned_data.get("category") or "")
        return value if value in Category.values else ""


class DraftForm(forms.Form):
    category = forms.ChoiceField(
        label=_("Category"), choices=[("", "---"), *Category.choices], required=False
    )
    rewrite = forms.CharField(
        label=_("Question as it will be published (anonymised rewrite)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    answer = forms.CharField(
        label=_("Answer (kind, simple words)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
    )


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("What should change"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class RiskReviewForm(forms.Form):
    note = forms.CharField(
        label=_("What was done about the risk"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _printable(text: str) -> str:
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))


@dataclass(frozen=True)
class ListParams:
    """``q`` (search words), ``category``, ``order`` (new / popular) of the public list.
    With none of them the page shows the overview (newest and most read)."""

    query: str = ""
    category: str = ""
    order: str = ""
    query_shortened: bool = False

    @classmethod
    def from_get(cls, data: QueryDict) -> ListParams:
        query = _printable(data.get("q", "")).strip()
        category = _printable(data.get("category", ""))[:40].strip()
        order = data.get("order", "")
        order = order if order in ("new", "popular") else ""
        return cls(
            query=query[:MAX_QUERY_LENGTH].strip(),
            category=category,
            order=order,
            query_shortened=len(query) > MAX_QUERY_LENGTH,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.query or self.category or self.order)

    def as_query(self, **changes: str) -> dict[str, str]:
        values = {"q": self.query, "category": self.category, "order": self.order}
        values.update(changes)
        return {key: value for key, value in values.items() if value}
