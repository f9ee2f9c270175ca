from django.contrib import admin

from uketome.core.admin_site import AuditedModelAdmin
from uketome.helpline.models import AnnualClosure, Closure, Line, OpeningHours


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class AnnualClosureInline(admin.TabularInline):
    model = AnnualClosure
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0
    fields = ["starts_at", "ends_at", "reason", "note"]


@admin.register(Line)
class LineAdmin(AuditedModelAdmin):
    """Lines and their hours. Contacts are not here: they are read only through the
    staff pages, where every read is audited."""

    list_display = ["name", "phone_number", "identity_policy", "retention_days", "active"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [OpeningHoursInline, AnnualClosureInline, ClosureInline]
