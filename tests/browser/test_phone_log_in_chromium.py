"""The phone log in a real browser: a typical call recorded by keyboard alone in a few
steps, a draft that survives a reload, and a save that a lost network does not lose."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD
from uketome.accounts.models import User
from uketome.helpline.demo import load_lines
from uketome.helpline.models import Contact

pytestmark = pytest.mark.browser


def _sign_in(page: Any, live_server: Any, user: User) -> None:
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(live_server.url + "/staff/login/")
    page.get_by_label("ユーザー名").fill(user.username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url("**/staff/two-factor/**")
    key = base64.b32decode(base64.b32encode(device.bin_key))
    page.get_by_label("認証アプリに表示される6桁のコード").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="確認する").click()
    page.wait_for_url(live_server.url + "/staff/")


@pytest.fixture
def listener_page(live_server: Any, page: Any, personas: dict[str, User]) -> Any:
    load_lines()
    _sign_in(page, live_server, personas["listener_tsu"])
    page.goto(live_server.url + "/staff/contacts/new/")
    return page


def test_a_typical_call_by_keyboard_alone_in_few_steps(listener_page: Any) -> None:
    page = listener_page
    steps = [
        lambda: page.keyboard.press("1"),  # outcome: 会話成立 (focus starts here)
        lambda: page.keyboard.type("12"),  # minutes
        lambda: page.keyboard.press("Tab"),  # to age
        lambda: page.keyboard.press("4"),  # 中学生
        lambda: page.keyboard.press("2"),  # 女子, then on to topics
        lambda: page.keyboard.type("いじめ"),
        lambda: page.keyboard.press("Enter"),
        lambda: page.keyboard.press("Tab"),  # to the summary
        lambda: page.keyboard.type("クラスで無視されている。"),
        lambda: page.keyboard.press("Control+Enter"),  # save
    ]
    for step in steps:
        step()
    page.wait_for_url("**/staff/contacts/*/?saved=1")
    assert len(steps) <= 12
    contact = Contact.objects.get()
    assert contact.outcome.label == "会話成立"  # type: ignore[union-attr]
    assert contact.duration_seconds == 12 * 60
    assert contact.age_band.label == "中学生"  # type: ignore[union-attr]
    assert contact.gender.label == "女子"  # type: ignore[union-attr]
    assert list(contact.topics.values_list("label", flat=True)) == ["いじめ"]
    assert contact.summary == "クラスで無視されている。"
    assert contact.risk_level.code == "none"  # type: ignore[union-attr]
    assert "保存しました" in page.content()


def test_topic_type_ahead_accepts_katakana_and_half_width(listener_page: Any) -> None:
    page = listener_page
    page.locator("#topic-search").fill("ｲｼﾞﾒ")
    assert page.locator("#topic-suggestions li").first.inner_text() == "いじめ"
    page.keyboard.press("Enter")
    assert page.locator("#topic-chips").inner_text().startswith("いじめ")


def test_the_draft_survives_a_reload(listener_page: Any) -> None:
    page = listener_page
    page.keyboard.press("1")
    page.keyboard.type("25")
    page.locator("#id_summary").fill("下書きのテスト。家に帰りたくない。")
    page.locator("#topic-search").fill("かぞく")
    page.keyboard.press("Enter")
    page.reload()
    assert "下書きを復元しました" in page.locator("#draft-status").inner_text()
    assert page.locator("#id_minutes").input_value() == "25"
    assert page.locator("#id_summary").input_value() == "下書きのテスト。家に帰りたくない。"
    assert page.locator("#group-outcome input:checked").get_attribute("value") == "conversation"
    assert "家族" in page.locator("#topic-chips").inner_text()
    assert Contact.objects.count() == 0


def test_a_lost_network_loses_nothing_and_the_save_is_stored_once(
    listener_page: Any,
) -> None:
    page = listener_page
    page.keyboard.press("1")
    page.keyboard.type("8")
    page.locator("#id_summary").fill("電波が切れても消えない。")
    page.context.set_offline(True)
    page.keyboard.press("Control+Enter")
    page.locator("#draft-status", has_text="ネットワーク").wait_for()
    assert page.locator("#id_summary").input_value() == "電波が切れても消えない。"
    assert Contact.objects.count() == 0
    page.context.set_offline(False)
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/staff/contacts/*/?saved=1")
    assert Contact.objects.get().summary == "電波が切れても消えない。"
    # The saved draft is gone: a new form starts empty.
    page.goto(page.url.split("/staff/")[0] + "/staff/contacts/new/")
    assert page.locator("#id_summary").input_value() == ""
    assert page.locator("#draft-status").is_hidden()


def test_server_side_errors_show_in_japanese_and_keep_the_input(listener_page: Any) -> None:
    page = listener_page
    page.keyboard.press("1")
    page.keyboard.type("-3")
    page.locator("#id_summary").fill("消えないでほしい。")
    page.keyboard.press("Control+Enter")
    error = page.locator('[data-error-for="minutes"]:visible')
    error.wait_for()
    assert "マイナス" in error.inner_text()
    assert page.locator("#id_summary").input_value() == "消えないでほしい。"
    assert Contact.objects.count() == 0
