"""The public children's pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from uketome.content.selectors import menu_pages
from uketome.portal.cache import public_cache
from uketome.portal.selectors import line_statuses


def _render(request: HttpRequest, template: str, context: dict[str, object]) -> HttpResponse:
    # Children's pages are always in Japanese, whatever a staff member chose on this device.
    with translation.override("ja"):
        response = render(
            request,
            template,
            context,
        )
    response.headers["Content-Language"] = "ja"
    return response


@public_cache
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    statuses = line_statuses(now)
    menu = [(p.title, reverse("pages:page", args=[p.slug])) for p in menu_pages()]
    menu.append((_("News and events"), reverse("pages:news_list")))
    menu.append((_("Places you can ask for help"), "/resources/"))
    return _render(
        request,
        "portal/home.html",
        {
            "now": now,
            "open_lines": [s for s in statuses if s.is_open],
            "closed_lines": [s for s in statuses if not s.is_open],
            "statuses": statuses,
            "menu": menu,
        },
    )
