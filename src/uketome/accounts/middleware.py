"""Second factor required for staff who can read counselling content."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode


class RequireTwoFactorMiddleware:
    """A signed-in user whose roles need 2FA reaches staff pages only once verified.

    Until then every staff page sends them to the two-factor page (enrolment when they
    have no device yet). The sign-in, sign-out and two-factor pages stay reachable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and request.path.startswith("/staff/")
            and not user.is_verified()
            and user.needs_two_factor
        ):
            open_paths = {
                reverse("accounts:login"),
                reverse("accounts:logout"),
                reverse("accounts:two_factor"),
            }
            if request.path not in open_paths:
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('accounts:two_factor')}?{query}")
        return self.get_response(request)
