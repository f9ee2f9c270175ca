"""The public home page: Japanese, and nothing kept about a child who only reads."""

from __future__ import annotations

from typing import Any

from django.test import Client


def test_public_home_is_japanese(db: Any, client: Client) -> None:
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ja">' in page
    assert "ひみつ" in page  # the first promise, in kind words
    assert 'href="tel:189"' in page


def test_public_home_stays_japanese_for_english_staff(db: Any, client: Client) -> None:
    client.cookies["uketome_lang"] = "en"
    page = client.get("/").content.decode()
    assert '<html lang="ja">' in page
    assert "ひみつ" in page


def test_a_child_who_only_reads_gets_no_cookie(db: Any, client: Client) -> None:
    response = client.get("/")
    assert "Set-Cookie" not in response.headers
    assert not response.cookies


def test_pages_get_their_stylesheets(db: Any, client: Client) -> None:
    """Every stylesheet a page links is served (from this site, as CSS)."""
    import re

    for path in ["/", "/staff/login/"]:
        page = client.get(path).content.decode()
        links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
        assert links, path
        for href in links:
            assert href.startswith("/static/")
            response = client.get(href)
            assert response.status_code == 200, href
            assert response["Content-Type"].startswith("text/css")
