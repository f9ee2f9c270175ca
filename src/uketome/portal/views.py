"""The public children's pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation


def home(request: HttpRequest) -> HttpResponse:
    # Children's pages are always in Japanese, whatever a staff member chose on this device.
    with translation.override("ja"):
        response = render(request, "portal/home.html")
    response.headers["Content-Language"] = "ja"
    return response
