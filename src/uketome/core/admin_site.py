"""The Django admin for the secretariat and system administrators, behind staff sign-in."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from rules.contrib.admin import ObjectPermissionsModelAdmin

from uketome.core.audit import audit_record


class UketomeAdminSite(admin.AdminSite):
    site_header = _("uketome administration")
    site_title = _("uketome administration")
    index_title = _("Administration")

    def has_permission(self, request: HttpRequest) -> bool:
        user: Any = request.user
        return bool(user.is_active and user.has_perm("core.use_admin"))

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        """Signed-in staff without the right get 404: the admin does not exist for them."""
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.is_authenticated and not self.has_permission(request):
                raise Http404
            return inner(request, *args, **kwargs)

        return guarded

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """Sign-in goes through the staff login (with its lockout and two-factor)."""
        if request.user.is_authenticated:
            # Signed in, but not allowed here: the admin does not exist for them.
            raise Http404
        query = urlencode({"next": request.GET.get("next", reverse("admin:index"))})
        return redirect(f"{reverse('accounts:login')}?{query}")


class AuditedModelAdmin(ObjectPermissionsModelAdmin):
    """A model admin whose every change writes an audit entry, allowed by the rules."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        # The rules name model permissions, not apps: show the app when its model may be seen.
        return bool(self.has_view_or_change_permission(request))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action=f"admin.{'changed' if change else 'added'}",
                target=obj,
                data={"fields": sorted(form.changed_data)},
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audit_record(actor=request.user, action="admin.deleted", target=obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with transaction.atomic():
            for obj in queryset:
                audit_record(actor=request.user, action="admin.deleted", target=obj)
            super().delete_queryset(request, queryset)
