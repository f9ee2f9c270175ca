"""In a real browser: the Japanese public page, and a volunteer's first sign-in with
two-factor enrolment, reading the key off the page as a person would."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django_otp.oath import totp

from tests.conftest import PASSWORD
from uketome.accounts.models import User

pytestmark = pytest.mark.browser


def test_public_page_is_japanese(live_server: Any, page: Any) -> None:
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "ja"
    assert "はなして" in page.locator("h1").inner_text()
    assert page.get_by_role("link", name="110").is_visible()
    # The stylesheet is applied: the skip link waits off-screen until it gets focus.
    assert page.locator("a.skip").bounding_box()["x"] < 0
    page.keyboard.press("Tab")
    assert page.locator("a.skip").bounding_box()["x"] >= 0


def test_first_sign_in_enrols_two_factor_and_shows_the_role_menu(
    live_server: Any, page: Any, personas: dict[str, User]
) -> None:
    page.goto(live_server.url + "/staff/")
    assert "スタッフ ログイン" in page.locator("h1").inner_text()
    page.get_by_label("ユーザー名").fill("coordinator_tsu")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()

    page.wait_for_url("**/staff/two-factor/**")
    assert page.locator("figure.qr svg").is_visible()
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("認証アプリに表示される6桁のコード").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="設定を完了する").click()

    page.wait_for_url(live_server.url + "/staff/")
    menu = page.get_by_role("navigation", name="メニュー")
    assert menu.get_by_role("link", name="名簿").is_visible()
    assert menu.get_by_role("link", name="ネットワーク").is_visible()
    assert menu.get_by_role("link", name="監査ログ").count() == 0
    menu.get_by_role("link", name="名簿").click()
    assert personas["listener_tsu"].display_name in page.locator("table").inner_text()
