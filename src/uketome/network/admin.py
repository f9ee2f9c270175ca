from django.contrib import admin

from uketome.core.admin_site import AuditedModelAdmin
from uketome.network.models import CollaborativeProject, Organization, Site


@admin.register(Organization)
class OrganizationAdmin(AuditedModelAdmin):
    list_display = ["name", "kind", "is_signatory", "is_member", "is_operator", "active"]
    list_filter = ["kind", "is_signatory", "is_member", "active"]
    search_fields = ["name", "short_name"]


@admin.register(Site)
class SiteAdmin(AuditedModelAdmin):
    list_display = ["name", "slug", "organization", "sort_order", "active"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(CollaborativeProject)
class CollaborativeProjectAdmin(AuditedModelAdmin):
    list_display = ["number", "name", "started_on", "active"]
    filter_horizontal = ["organizations"]
