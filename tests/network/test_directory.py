"""The network directory page for staff."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client

from uketome.accounts.models import User


def test_directory_lists_sites_with_their_people(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    page = sign_in(personas["government"]).get("/staff/network/").content.decode()
    assert "津" in page and "鈴鹿" in page
    assert "県子ども・福祉部" in page
