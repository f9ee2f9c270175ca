"""Service health and the audit log page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from uketome.core import health, selectors, services
from uketome.core.permissions import view_audit


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers; 503 when it does not.

    A channel layer that is down is reported but does not fail the check: the children's
    portal, mail and records still work without it.
    """
    database = health.database_status()
    layer = health.channel_layer_status()
    status = "ok" if database == "ok" and layer != "down" else "degraded"
    if database != "ok":
        status = "down"
    return JsonResponse(
        {"status": status, "database": database, "channel_layer": layer},
        status=200 if database == "ok" else 503,
    )


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not view_audit.test(request.user):
        raise Http404
    if request.method == "POST":
        result = services.audit_check(actor=request.user)
        if result.ok:
            messages.success(
                request,
                _("The audit log is intact: %(count)s entries checked.")
                % {"count": result.checked},
            )
        else:
            messages.error(
                request,
                _("The audit log has been tampered with: %(problems)s")
                % {"problems": "; ".join(result.problems[:5])},
            )
        return redirect("core:audit")
    entries = selectors.audit_entries_visible_to(request.user)
    action = request.GET.get("action", "").strip()
    if action:
        entries = entries.filter(action__startswith=action)
    page = Paginator(entries.order_by("-id"), 50).get_page(request.GET.get("page"))
    return render(request, "core/audit.html", {"page": page, "action": action})
