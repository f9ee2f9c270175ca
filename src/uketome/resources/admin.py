from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from uketome.core.admin_site import AuditedModelAdmin
from uketome.resources.models import Resource, Topic
from uketome.resources.selectors import resources_matching
from uketome.resources.services import (
    clean_kana,
    clean_phone,
    clean_place,
    resource_reindex,
    resource_topics_set,
)


def _https_by_default(db_field: Any, **kwargs: Any) -> Any:
    """A web address typed without a scheme gets https:// (not http://)."""
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class ResourceAdminForm(forms.ModelForm):
    topics = forms.MultipleChoiceField(
        label=_("topics"),
        choices=Topic.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Resource
        fields = [
            "name",
            "kana",
            "municipality",
            "topics",
            "for_whom",
            "phone",
            "phone_hours",
            "url",
            "description",
            "published",
            "sort_order",
            "checked_on",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        formfield_callback = _https_by_default

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["topics"] = self.instance.topic_codes()

    def clean_kana(self) -> str:
        return clean_kana(self.cleaned_data["kana"])

    def clean_municipality(self) -> str:
        return clean_place(self.cleaned_data["municipality"])

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data["phone"])


@admin.register(Resource)
class ResourceAdmin(AuditedModelAdmin):
    """The secretariat edits the resource directory here; every change is audited."""

    form = ResourceAdminForm
    list_display = [
        "name",
        "municipality",
        "topic_list",
        "phone",
        "for_whom",
        "published",
        "sort_order",
        "checked_on",
    ]
    list_filter = ["published", "for_whom", "topic_links__topic", "municipality"]
    search_fields = ["search"]
    ordering = ["sort_order", "kana", "name"]
    fieldsets = [
        (None, {"fields": ["name", "kana", "municipality", "topics", "for_whom"]}),
        (_("How to reach it"), {"fields": ["phone", "phone_hours", "url"]}),
        (None, {"fields": ["description", "published", "sort_order", "checked_on"]}),
    ]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Resource]:
        return super().get_queryset(request).prefetch_related("topic_links")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("resources.view_resource"))

    @admin.display(description=_("topics"))
    def topic_list(self, obj: Resource) -> str:
        return ", ".join(obj.topic_labels())

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Resource], search_term: str
    ) -> tuple[QuerySet[Resource], bool]:
        """Search the way the children's page does: kana and width folded."""
        return resources_matching(queryset, search_term), False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        topics = form.cleaned_data.get("topics")
        if topics is None:
            resource_reindex(resource=form.instance)
        else:
            resource_topics_set(resource=form.instance, topics=topics)
