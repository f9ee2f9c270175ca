from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from uketome.accounts.models import Membership, User
from uketome.accounts.services import totp_reset
from uketome.core.admin_site import AuditedModelAdmin


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["organization", "site"]
    fields = ["organization", "site", "role", "active"]


@admin.register(User)
class UserAdmin(AuditedModelAdmin, BaseUserAdmin):
    list_display = ["username", "last_name", "first_name", "is_active", "last_login"]
    search_fields = ["username", "last_name", "first_name"]
    inlines = [MembershipInline]
    actions = ["reset_two_factor"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("", {"fields": ("last_name", "first_name", "email", "is_active")}),
    )

    @admin.action(description=_("Reset two-step verification (lost phone)"))
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            totp_reset(actor=request.user, user=user, reason="reset in the admin")
        self.message_user(
            request,
            _("%(count)s staff members will set up two-step verification at next sign-in.")
            % {"count": queryset.count()},
        )


@admin.register(Membership)
class MembershipAdmin(AuditedModelAdmin):
    list_display = ["user", "role", "site", "organization", "active"]
    list_filter = ["role", "site", "active"]
    search_fields = ["user__username", "user__last_name", "user__first_name"]
    autocomplete_fields = ["user", "organization", "site"]
