"""Real Chromium (Debian's package), driven by Playwright for Python.

Never `playwright install`: the browser comes from the system. Where Chromium is absent
(a laptop) the browser tests skip; in CI they must run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("UKETOME_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]

# Playwright's sync API runs an event loop in this thread; the tests still use the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (CI must run the browser tests)")
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


def serious_problems(page: Any, where: str = "") -> list[tuple[str, str, str]]:
    """What axe-core finds on the page as it is now, of serious or critical impact."""
    from axe_playwright_python.sync_playwright import Axe

    return [
        (where or page.url, v["id"], v["help"])
        for v in Axe().run(page).response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
