from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from uketome.core.admin_site import AuditedModelAdmin
from uketome.triage.forms import LexiconEntryForm, TryForm
from uketome.triage.models import LexiconEntry, RiskLevel
from uketome.triage.scoring import assess


@admin.register(LexiconEntry)
class LexiconEntryAdmin(AuditedModelAdmin):
    """The secretariat edits the risk lexicon here; every change is audited and is used
    for the next message scored."""

    form = LexiconEntryForm
    change_list_template = "admin/triage/lexiconentry/change_list.html"
    list_display = [
        "shown_name",
        "kind",
        "effect",
        "category",
        "level",
        "weight",
        "shift",
        "active",
    ]
    list_filter = ["effect", "category", "level", "kind", "active"]
    search_fields = ["term", "name", "note"]
    ordering = ["effect", "category", "term"]
    fieldsets = [
        (None, {"fields": ["term", "name", "kind", "category", "active"]}),
        (_("Risk entries"), {"fields": ["level", "weight"]}),
        (_("Context entries"), {"fields": ["effect", "shift", "applies_to"]}),
        (None, {"fields": ["exceptions", "note"]}),
    ]

    @admin.display(description=_("term"), ordering="term")
    def shown_name(self, obj: LexiconEntry) -> str:
        shown = obj.name or obj.term
        return shown if len(shown) <= 60 else shown[:59] + "…"

    def get_urls(self) -> list[URLPattern]:
        tried = self.admin_site.admin_view(self.try_view)
        return [path("try/", tried, name="triage_lexiconentry_try"), *super().get_urls()]

    def try_view(self, request: HttpRequest) -> HttpResponse:
        """Score a message with the current lexicon (nothing typed here is stored)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = TryForm(request.POST or None)
        result = assess(form.cleaned_data["text"]) if form.is_valid() else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Try a message"),
            "form": form,
            "result": result,
            "level_label": (dict(RiskLevel.choices).get(result.level, _("None")) if result else ""),
        }
        return TemplateResponse(request, "admin/triage/lexiconentry/try.html", context)
