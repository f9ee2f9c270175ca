"""Forms on the children's side: nothing left on the device, no post from other sites.

Django's CSRF protection would put a cookie on the child's device. The children's forms
have no account or session to protect, so instead a POST must come from our own pages:
browsers say so in ``Sec-Fetch-Site`` and ``Origin`` on every POST. A request with
neither header (not a browser) is allowed - it could forge them anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt


def from_own_pages(request: HttpRequest) -> bool:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is not None:
        return bool(origin == f"{request.scheme}://{request.get_host()}")
    return True


def child_form(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For a view that takes a child's POST: no CSRF cookie, same-origin posts only."""

    @csrf_exempt
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and not from_own_pages(request):
            return HttpResponseForbidden(
                _("This form can only be sent from this site's own pages."),
                content_type="text/plain; charset=utf-8",
            )
        return view(request, *args, **kwargs)

    return wrapped
