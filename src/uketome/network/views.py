"""The network directory for staff."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from uketome.core.permissions import view_network
from uketome.network import selectors


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    if not view_network.test(request.user):
        raise Http404
    organizations = selectors.organizations_visible_to(request.user)
    return render(
        request,
        "network/directory.html",
        {
            "signatories": [o for o in organizations if o.is_signatory],
            "members": [o for o in organizations if o.is_member],
            "operator": next((o for o in organizations if o.is_operator), None),
            "sites": selectors.sites_visible_to(request.user),
            "projects": selectors.projects_visible_to(request.user),
        },
    )
