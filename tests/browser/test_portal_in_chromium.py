"""The children's pages in a real browser: nothing is requested from any other site,
axe-core finds no serious or critical problem, quick exit leaves no way back, and the home
page is small."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import serious_problems
from uketome.content.demo import load_content
from uketome.content.models import Page
from uketome.helpline.demo import load_lines
from uketome.resources.demo import load_resources

pytestmark = pytest.mark.browser


@pytest.fixture
def public_paths(db: Any) -> list[str]:
    load_lines()
    load_resources()
    load_content()
    slugs = list(Page.objects.values_list("slug", flat=True))
    assert len(slugs) >= 8
    paths = ["/", "/?g=3", "/?g=none", "/resources/", "/resources/?q=いじめ", "/p/news/"]
    return paths + [f"/p/{slug}/" for slug in slugs]


def test_no_request_leaves_the_site(live_server: Any, page: Any, public_paths: list[str]) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(live_server.url) or request.url.startswith("data:")
            else outside.append(request.url)
        ),
    )
    for path in public_paths:
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
    assert outside == []
    assert page.context.cookies() == []  # nothing kept on the device


def test_axe_finds_no_serious_or_critical_problem(
    live_server: Any, browser: Any, public_paths: list[str]
) -> None:
    context = browser.new_context(locale="ja-JP", bypass_csp=True)
    page = context.new_page()
    problems = []
    for path in public_paths:
        page.goto(live_server.url + path)
        problems += serious_problems(page, path)
    context.close()
    assert problems == []


def test_quick_exit_by_escape_leaves_no_way_back(live_server: Any, page: Any, db: Any) -> None:
    load_lines()
    page.route("https://www.google.co.jp/**", lambda route: route.fulfill(body="neutral"))
    page.goto("about:blank")
    page.goto(live_server.url + "/")
    page.keyboard.press("Escape")
    page.wait_for_url("https://www.google.co.jp/**")
    page.go_back()
    assert not page.url.startswith(live_server.url)


def test_quick_exit_button(live_server: Any, page: Any, db: Any) -> None:
    page.route("https://www.google.co.jp/**", lambda route: route.fulfill(body="neutral"))
    page.goto(live_server.url + "/")
    page.locator("#quick-exit").click()
    page.wait_for_url("https://www.google.co.jp/**")


def test_keyboard_reaches_the_quick_exit_and_the_lines(
    live_server: Any, page: Any, db: Any
) -> None:
    load_lines()
    page.goto(live_server.url + "/")
    focused = []
    for _ in range(4):
        page.keyboard.press("Tab")
        focused.append(
            page.evaluate("document.activeElement.id || document.activeElement.className")
        )
    assert "skip" in focused[0]
    assert "quick-exit" in focused


def test_home_page_is_small(live_server: Any, page: Any, db: Any) -> None:
    load_lines()
    sizes: list[int] = []

    def count(response: Any) -> None:
        body = response.body()
        sizes.append(len(body))

    page.on("response", count)
    page.goto(live_server.url + "/")
    page.wait_for_load_state("networkidle")
    assert sum(sizes) < 60 * 1024, sizes
