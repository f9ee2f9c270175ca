"""The Q&A corner in a real browser: a child asks with JavaScript on and nothing is kept
on the device; the pages request nothing from other sites; axe-core finds no serious or
critical problem."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import serious_problems
from uketome.helpline.demo import load_lines
from uketome.qa.demo import load_qa
from uketome.qa.models import PublishedAnswer, Question

pytestmark = pytest.mark.browser


@pytest.fixture
def qa_paths(db: Any) -> list[str]:
    load_lines()
    load_qa()
    first = PublishedAnswer.objects.order_by("pk").first()
    assert first is not None
    return [
        "/qa/",
        "/qa/?g=none",
        "/qa/?q=スマホ",
        "/qa/?category=friends",
        "/qa/?order=popular",
        f"/qa/{first.pk}/",
        "/qa/ask/",
        "/qa/ask/sent/",
    ]


def test_child_asks_and_nothing_is_kept(live_server: Any, page: Any, qa_paths: list[str]) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith(live_server.url) or request.url.startswith("data:")
            else outside.append(request.url)
        ),
    )
    for path in qa_paths:
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, path
    page.goto(live_server.url + "/qa/ask/")
    page.fill("#qa-text", "こわい")
    page.click("form.qa-ask button[type=submit]")
    assert page.locator("#qa-error").is_visible()
    assert page.input_value("#qa-text") == "こわい"  # kept
    page.fill("#qa-text", "友だちとけんかしてしまいました。どうしたらなかなおりできますか。")
    page.click("form.qa-ask button[type=submit]")
    page.wait_for_url("**/qa/ask/sent/")
    assert Question.objects.filter(status="new").count() == 1
    assert outside == []
    assert page.context.cookies() == []
    stored = page.evaluate("() => [localStorage.length, sessionStorage.length]")
    assert stored == [0, 0]


def test_axe_finds_no_serious_or_critical_problem(
    live_server: Any, browser: Any, qa_paths: list[str]
) -> None:
    context = browser.new_context(locale="ja-JP", bypass_csp=True)
    page = context.new_page()
    problems = []
    for path in qa_paths:
        page.goto(live_server.url + path)
        problems += serious_problems(page, path)
    context.close()
    assert problems == []
