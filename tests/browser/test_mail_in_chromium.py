"""Children's letters in a real browser: a child writes, a listener takes the letter and
drafts a reply, a supervisor approves it, the child reads it and writes again. The child's
browser keeps no cookie; axe-core finds no serious problem on the children's pages."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.browser.conftest import serious_problems
from tests.conftest import PASSWORD
from uketome.accounts.models import User
from uketome.accounts.roles import Role
from uketome.helpline.demo import load_lines
from uketome.mail import services
from uketome.mail.models import Letter, LetterThread, ReplyState

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
def mail_line(db: Any, network: dict[str, Any]) -> Any:
    line = {ln.slug: ln for ln in load_lines()}["mail"]
    services.settings_for(line).sites.set([network["tsu"], network["suzuka"]])
    return line


def _new_page(browser: Any) -> Any:
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    return opened


def test_the_whole_letter_flow(
    live_server: Any, browser: Any, page: Any, mail_line: Any, personas: dict[str, User]
) -> None:
    # A child writes.
    page.goto(live_server.url + "/mail/?g=none")
    page.locator("#id_body").fill("友だちとけんかしました。<b>どうしよう</b>")
    page.locator(".mail-more summary").click()
    page.locator("#id_age_band").select_option("upper_elementary")
    page.locator("label.chip", has=page.locator('input[value="human_relations"]')).click()
    page.locator(".mail-send button").click()
    number = page.locator("#letter-number").inner_text()
    secret = page.locator("#letter-secret").inner_text()
    assert page.url == live_server.url + "/mail/?g=none"  # the answer to the post
    assert secret not in page.url and number not in page.url
    thread = LetterThread.objects.get()
    assert thread.age_band.code == "upper_elementary"  # type: ignore[union-attr]
    assert list(thread.topics.values_list("code", flat=True)) == ["human_relations"]

    # A listener takes it and drafts a reply.
    listener = _new_page(browser)
    _sign_in(listener, live_server, personas["listener_tsu"])
    listener.goto(live_server.url + "/staff/mail/")
    listener.locator(f'tr[data-letter="{thread.pk}"] a').click()
    assert "<b>どうしよう</b>" in listener.locator(".staff-letter .body").first.inner_text()
    listener.locator(f'form[action$="/{thread.pk}/claim/"] button').click()
    listener.locator("#id_reply_body").fill("お手紙ありがとう。けんかしてつらかったね。")
    listener.locator('button[value="submit"]').click()
    listener.wait_for_load_state()
    assert Letter.objects.get(state=ReplyState.SUBMITTED).drafted_by == personas["listener_tsu"]

    # Before approval the child sees no reply.
    child = _new_page(browser)
    child.goto(live_server.url + "/mail/read/?g=none")
    child.locator("#id_number").fill(number)
    child.locator("#id_secret").fill(secret)
    child.locator(".mail-send button").click()
    child.locator(".mail-thread").wait_for()
    assert "けんかしてつらかったね" not in child.content()
    assert child.locator(".mail-letter").count() == 1

    # A supervisor approves it, with a small edit.
    supervisor = _new_page(browser)
    _sign_in(supervisor, live_server, personas["supervisor_suzuka"])
    supervisor.goto(live_server.url + f"/staff/mail/{thread.pk}/")
    supervisor.locator("#id_review_body").fill(
        "お手紙ありがとう。けんかしてつらかったね。また書いてね。"
    )
    supervisor.locator('button[value="approve"]').click()
    supervisor.wait_for_load_state()
    assert (
        Letter.objects.get(state=ReplyState.APPROVED).reviewed_by == personas["supervisor_suzuka"]
    )

    # The child reads the reply (the number typed with full-width digits, the secret in
    # katakana) and writes again.
    child.goto(live_server.url + "/mail/read/?g=none")
    child.locator("#id_number").fill(
        number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    )
    child.locator("#id_secret").fill(
        "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in secret)
    )
    child.locator(".mail-send button").click()
    reply = child.locator(".mail-letter.from-us")
    reply.wait_for()
    assert "また書いてね" in reply.inner_text()
    # The child's own HTML is shown as text, not as markup.
    assert child.locator(".mail-letter.from-child b").count() == 0
    child.locator("#id_body").fill("ありがとう。なかなおりできました。")
    child.locator(".mail-send button").click()
    child.locator(".mail-notice").wait_for()
    assert child.locator(".mail-letter.from-child").count() == 2
    assert child.context.cookies() == []
    assert page.context.cookies() == []
    assert child.evaluate("() => [localStorage.length, sessionStorage.length]") == [0, 0]
    assert secret not in child.url and number not in child.url
    for opened in (listener, supervisor, child):
        opened.context.close()


def test_two_listeners_clicking_take_at_once_one_gets_it(
    live_server: Any,
    browser: Any,
    mail_line: Any,
    personas: dict[str, User],
    make_staff: Any,
) -> None:
    services.letter_send(data=services.NewLetter(line=mail_line, body="だれか読んで"))
    thread = LetterThread.objects.get()
    second = make_staff(Role.LISTENER, "tsu", "listener_b")
    pages = []
    for user in (personas["listener_tsu"], second):
        opened = _new_page(browser)
        _sign_in(opened, live_server, user)
        opened.goto(live_server.url + f"/staff/mail/{thread.pk}/")
        pages.append(opened)
    for opened in pages:
        opened.locator(f'form[action$="/{thread.pk}/claim/"] button').click()
        opened.wait_for_load_state()
    thread.refresh_from_db()
    assert thread.claimed_by == personas["listener_tsu"]
    assert pages[1].url == live_server.url + "/staff/mail/"
    assert pages[1].locator(".messages .error").count() == 1
    for opened in pages:
        opened.context.close()


def test_axe_finds_no_serious_problem_on_the_letter_pages(
    live_server: Any, browser: Any, mail_line: Any
) -> None:
    context = browser.new_context(locale="ja-JP", bypass_csp=True)
    page = context.new_page()
    problems = []
    page.goto(live_server.url + "/mail/")
    problems += serious_problems(page, "write")
    page.locator("#id_body").fill("テストの手紙")
    page.locator(".mail-send button").click()
    page.locator("#letter-number").wait_for()
    problems += serious_problems(page, "sent")
    number = page.locator("#letter-number").inner_text()
    secret = page.locator("#letter-secret").inner_text()
    page.goto(live_server.url + "/mail/read/")
    problems += serious_problems(page, "read")
    page.locator("#id_number").fill(number)
    page.locator("#id_secret").fill(secret)
    page.locator(".mail-send button").click()
    page.locator(".mail-thread").wait_for()
    problems += serious_problems(page, "thread")
    context.close()
    assert problems == []
