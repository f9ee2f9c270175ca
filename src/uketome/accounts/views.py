"""Staff sign-in, two-factor, the staff home and the roster."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import segno
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from uketome.accounts import selectors, services
from uketome.accounts.forms import StaffLoginForm, TokenForm
from uketome.accounts.roles import DUTIES, Role
from uketome.core.permissions import Rule, view_membership
from uketome.network.models import Site


class StaffLoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = True


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("accounts:home")


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Verify with a code; a user without a confirmed device enrols one first (QR code)."""
    user: Any = request.user
    if user.is_verified():
        return redirect(_safe_next(request))
    enrolled = services.TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()
    form = TokenForm(request.POST or None)
    device = None if enrolled else services.totp_device_for_enrolment(user=user)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"]
        ok = (
            services.totp_verify(request=request, user=user, token=token)
            if enrolled
            else services.totp_confirm(request=request, user=user, device=device, token=token)
        )
        if ok:
            return redirect(_safe_next(request))
        form.add_error(
            "token",
            _("That code is not right. Check the time on your phone and try the newest code."),
        )
    context: dict[str, Any] = {"form": form, "enrolled": enrolled, "next": _safe_next(request)}
    if device is not None:
        qr = segno.make(device.config_url, error="m")
        context["qr_svg"] = mark_safe(  # noqa: S308 - SVG made by segno from our own URL
            qr.svg_inline(scale=5, dark="#111", light="#fff", title=str(_("QR code")))
        )
        context["secret"] = _spaced(_base32(device.bin_key))
    return render(request, "accounts/two_factor.html", context)


def _base32(key: bytes) -> str:
    return base64.b32encode(key).decode().rstrip("=")


def _spaced(text: str) -> str:
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True)
class MenuItem:
    label: Promise
    url_name: str
    rule: str
    description: Promise


MENU = [
    MenuItem(
        _("Record a contact"),
        "helpline:contact_new",
        "helpline.add_contact",
        _("The phone log: record a call in seconds."),
    ),
    MenuItem(
        _("Contact records"),
        "helpline:contact_list",
        "helpline.view_contact",
        _("The contacts you may see, with filters."),
    ),
    MenuItem(
        _("Children's letters"),
        "mail:queue",
        "mail.view_letterthread",
        _("Letters waiting for a reply, drafts and approvals."),
    ),
    MenuItem(
        _("Q&A corner"),
        "qa:staff_list",
        "qa.view_question",
        _("Children's questions: draft answers, approve and publish."),
    ),
    MenuItem(
        _("Escalations"),
        "helpline:escalation_list",
        "helpline.view_escalation",
        _("Contacts at high or urgent risk waiting for a decision."),
    ),
    MenuItem(
        _("Portal content"),
        "content:index",
        "content.change_page",
        _("Pages and news of the children's portal."),
    ),
    MenuItem(
        _("Network"),
        "network:directory",
        "network.view_organization",
        _("Organizations, sites and collaborative projects."),
    ),
    MenuItem(
        _("Roster"),
        "accounts:roster",
        "accounts.view_membership",
        _("Staff and volunteers and their roles."),
    ),
    MenuItem(
        _("Audit log"),
        "core:audit",
        "core.view_auditentry",
        _("Who read or changed what, and the integrity check."),
    ),
    MenuItem(
        _("Administration"),
        "admin:index",
        "core.use_admin",
        _("Edit organizations, sites, projects and accounts."),
    ),
    MenuItem(
        _("Statistics"),
        "stats:index",
        "stats.view_statistics",
        _("Figures by year, line and site, and the annual report."),
    ),
    MenuItem(
        _("Risk lexicon"),
        "admin:triage_lexiconentry_changelist",
        "triage.change_lexiconentry",
        _("The words that raise a child's message to watch, high or urgent; try a message."),
    ),
    MenuItem(
        _("Live chat"),
        "chat:console",
        "chat.use_console",
        _("Take chats from the queue, several at once; supervisors watch, whisper and take over."),
    ),
]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    roles = [Role(r) for r in sorted(user.active_roles())]
    menu = [(item, reverse(item.url_name)) for item in MENU if Rule.registry[item.rule].test(user)]
    duties = [(role.label, DUTIES.get(role, [])) for role in roles]
    return render(request, "accounts/home.html", {"menu": menu, "duties": duties})


@login_required
def roster(request: HttpRequest) -> HttpResponse:
    if not view_membership.test(request.user):
        raise Http404
    visible = selectors.memberships_visible_to(request.user)
    sites = Site.objects.filter(pk__in=visible.values("site")).order_by("sort_order")
    site_id = request.GET.get("site", "")
    role = request.GET.get("role", "")
    if site_id.isdigit():
        visible = visible.filter(site_id=int(site_id))
    if role in Role.values:
        visible = visible.filter(role=role)
    page = Paginator(visible.order_by("site__sort_order", "role", "user__last_name", "id"), 50)
    return render(
        request,
        "accounts/roster.html",
        {
            "page": page.get_page(request.GET.get("page")),
            "sites": sites,
            "roles": Role.choices,
            "site_id": site_id,
            "role": role,
        },
    )
