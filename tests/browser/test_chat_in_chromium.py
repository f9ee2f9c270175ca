"""Live chat in real Chromium: a child and a listener talk; the child's network drops and
comes back; nothing is lost or doubled on either side and what was typed offline arrives."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import time as clock
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.browser.conftest import serious_problems
from tests.conftest import PASSWORD
from uketome import triage
from uketome.accounts.models import User
from uketome.chat import store
from uketome.chat.models import Message
from uketome.helpline.models import Line, OpeningHours
from uketome.triage import worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def asgi_server(transactional_db: Any, settings: Any) -> Iterator[str]:
    """The real ASGI application (HTTP and WebSockets) under uvicorn, in a thread."""
    import uvicorn
    from channels.routing import ProtocolTypeRouter
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application
    from django.core.cache import cache

    from uketome.asgi import application

    cache.clear()  # the start limit counts per address: every test is a new visitor
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    settings.CHAT_SWEEP_SECONDS = 3600
    app = ProtocolTypeRouter(
        {
            "http": ASGIStaticFilesHandler(get_asgi_application()),
            "websocket": application.application_mapping["websocket"],
        }
    )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    # As in `uketome serve`: children's messages are scored in a process of their own,
    # and the chat's messages stored by another.
    scorer = worker.Scorer()
    triage.use(scorer)
    chat_store = store.Store()
    chat_store.start()
    store.use(chat_store)
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    triage.use(None)
    scorer.close()
    store.use(None)
    chat_store.close()


def _chat_line() -> Line:
    line = Line.objects.create(
        name="オンライン相談(チャット)", slug="chat", channels=["chat"], identity_policy="anonymous"
    )
    OpeningHours.objects.bulk_create(
        OpeningHours(line=line, weekday=day, opens=clock(0, 0), closes=clock(0, 0))
        for day in range(7)
    )
    return line


def _sign_in(page: Any, base: str, user: User) -> None:
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(base + "/staff/login/")
    page.get_by_label("ユーザー名").fill(user.username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url("**/staff/two-factor/**")
    key = base64.b32decode(base64.b32encode(device.bin_key))
    page.get_by_label("認証アプリに表示される6桁のコード").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="確認する").click()
    page.wait_for_url(base + "/staff/")


def _texts(page: Any, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts()]


def _child_waiting(browser: Any, base: str) -> tuple[Any, Any]:
    """A child's browser on the chat line, first in the queue: (context, page)."""
    _chat_line()
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    child = context.new_page()
    child.set_default_timeout(15_000)
    child.goto(base + "/chat/")
    child.locator("#prechat button[type=submit]").click()
    child.locator("#queue-position").filter(has_text="1").wait_for()
    return context, child


def test_a_child_and_a_listener_chat_through_a_network_drop(
    browser: Any, asgi_server: str, personas: dict[str, User]
) -> None:
    base = asgi_server
    _chat_line()
    child_context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    staff_context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    child = child_context.new_page()
    staff = staff_context.new_page()
    for page in (child, staff):
        page.set_default_timeout(15_000)
    try:
        # The child starts a chat (no personal data needed) and waits.
        child.goto(base + "/chat/")
        child.locator("#prechat input[value='junior_high']").check()
        child.locator("#prechat button[type=submit]").click()
        child.locator("#queue-position").filter(has_text="1").wait_for()
        # The listener takes it.
        _sign_in(staff, base, personas["listener_tsu"])
        staff.goto(base + "/staff/chat/")
        staff.locator("#queue-rows tr").first.wait_for()
        staff.locator("#take-next").click()
        panel = staff.locator(".chat-panel").first
        panel.wait_for()
        child.locator("#waiting").wait_for(state="hidden")

        def child_says(text: str) -> None:
            child.locator("#text").fill(text)
            child.locator("#send").click()

        def listener_says(text: str) -> None:
            panel.locator("textarea").fill(text)
            panel.locator("button.send").click()

        child_says("こんばんは")
        panel.locator(".log li.from-child", has_text="こんばんは").wait_for()
        listener_says("こんばんは。どうしたの?")
        child.locator("#log li.from-listener", has_text="どうしたの").wait_for()
        child_says("<b>太字?</b>")
        panel.locator(".log li.from-child", has_text="<b>太字?</b>").wait_for()

        # The network drops: the child keeps writing, the listener too.
        child_context.set_offline(True)
        child.locator("#connection").wait_for(state="visible")
        child_says("きれちゃった?")
        child_says("まだいる?")
        listener_says("ここにいるよ")
        listener_says("ゆっくりでいいよ")
        time.sleep(1)
        child_context.set_offline(False)

        # Back: everything arrives, once, in order, on both sides.
        panel.locator(".log li.from-child", has_text="まだいる?").wait_for()
        child.locator("#log li.from-listener", has_text="ゆっくりでいいよ").wait_for()
        child.locator("#log li.pending").first.wait_for(state="detached")
        child_log = _texts(child, "#log li:not(.notice) .text")
        staff_log = _texts(staff, ".chat-panel .log li:not(.from-system) .text")
        expected = [
            "こんばんは",
            "こんばんは。どうしたの?",
            "<b>太字?</b>",
            "きれちゃった?",
            "まだいる?",
        ]
        assert child_log[:3] == expected[:3]
        assert sorted(child_log) == sorted([*expected, "ここにいるよ", "ゆっくりでいいよ"])
        assert child_log.index("きれちゃった?") < child_log.index("まだいる?")
        assert child_log.index("ここにいるよ") < child_log.index("ゆっくりでいいよ")
        assert sorted(staff_log) == sorted(child_log)
        assert staff_log.index("きれちゃった?") < staff_log.index("まだいる?")
        stored = [m.text or "" for m in Message.objects.order_by("seq")]
        assert sorted(stored) == sorted(child_log)  # each stored once
        assert child.locator("#log b").count() == 0  # HTML shown as text

        # A child in danger: the listener sees the message at once, flagged a moment later.
        child_says("もう しにたい")
        panel.locator(".log li.from-child.risky", has_text="しにたい").wait_for()
        assert panel.locator(".log li.risky").count() == 1

        # The listener's network drops now; meanwhile the child writes once more and ends
        # the chat: the screen is cleared, nothing is kept on the device.
        staff_context.set_offline(True)
        staff.locator("#console-status", has_text="接続が切れました").wait_for()
        child_says("さいごにひとつだけ")
        child.locator("#log li.pending").first.wait_for(state="detached")
        child.once("dialog", lambda dialog: dialog.accept())  # "Do you want to end?"
        child.locator("#end").click()
        child.locator("#ended").wait_for()
        assert child.locator("#log li").count() == 0
        storage = child.evaluate("() => [localStorage.length, sessionStorage.length]")
        assert storage == [0, 0]
        assert child_context.cookies() == []
        # Back online, the console shows what it missed, that the chat ended, and the
        # contact record to fill in.
        staff_context.set_offline(False)
        panel.locator(".log li.from-child", has_text="さいごにひとつだけ").wait_for()
        panel.locator(".record").wait_for()
        assert panel.locator(".compose").is_hidden()
        assert panel.locator(".log li.from-child", has_text="さいごにひとつだけ").count() == 1
    finally:
        child_context.close()
        staff_context.close()


def test_the_console_shows_the_head_of_a_long_queue_and_how_many_wait(
    browser: Any, asgi_server: str, personas: dict[str, User]
) -> None:
    from uketome.chat import services
    from uketome.chat.consumers import QUEUE_SHOWN

    line = _chat_line()
    for _ in range(QUEUE_SHOWN + 3):
        services.conversation_start(line=line)
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    staff = context.new_page()
    staff.set_default_timeout(15_000)
    try:
        _sign_in(staff, asgi_server, personas["listener_tsu"])
        staff.goto(asgi_server + "/staff/chat/")
        staff.locator("#queue-count", has_text=str(QUEUE_SHOWN + 3)).wait_for()
        assert staff.locator("#queue-rows tr").count() == QUEUE_SHOWN
        assert staff.locator("#queue-more").inner_text() == "ほかに 3 件が待っています"
        staff.locator("#take-next").click()
        staff.locator(".chat-panel").first.wait_for()
        staff.locator("#queue-count", has_text=str(QUEUE_SHOWN + 2)).wait_for()
        assert staff.locator("#queue-rows tr").count() == QUEUE_SHOWN
        assert staff.locator("#queue-more").inner_text() == "ほかに 2 件が待っています"
    finally:
        context.close()


class _ChildSocket:
    """A child's page as a bare socket (the test sends what the page would)."""

    def __init__(self, base: str, conversation: int, token: str) -> None:
        from websockets.sync.client import connect

        self.opened = contextlib.ExitStack()
        self.socket = self.opened.enter_context(
            connect(
                base.replace("http://", "ws://") + "/ws/chat/",
                origin=base,  # type: ignore[arg-type]
                open_timeout=10,
            )
        )
        self.socket.send(
            json.dumps(
                {"type": "hello", "conversation": conversation, "token": token, "last_seq": 0}
            )
        )

    def send(self, **frame: Any) -> None:
        self.socket.send(json.dumps(frame))

    def close(self) -> None:
        self.opened.close()


def _visible_to_click(locator: Any) -> bool:
    """Whether the element is what a click at its centre reaches (not clipped or covered)."""
    return bool(
        locator.evaluate(
            """el => { const r = el.getBoundingClientRect();
                return r.width > 40 && r.height > 20
                  && document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === el; }"""
        )
    )


def test_the_console_keeps_the_listeners_place_and_words(
    browser: Any, asgi_server: str, make_staff: Any
) -> None:
    from uketome.accounts.roles import Role
    from uketome.chat import services
    from uketome.chat.models import Conversation

    line = _chat_line()
    first, first_token = services.conversation_start(line=line)
    second, second_token = services.conversation_start(line=line)
    listener = make_staff(Role.LISTENER, "tsu")
    supervisor = make_staff(Role.SUPERVISOR, "tsu")
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    boss_context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    staff = context.new_page()
    boss = boss_context.new_page()
    for page in (staff, boss):
        page.set_default_timeout(15_000)
    children: list[_ChildSocket] = []
    try:
        # A supervisor of the site is on another staff page (not the console).
        _sign_in(boss, asgi_server, supervisor)
        _sign_in(staff, asgi_server, listener)
        staff.goto(asgi_server + "/staff/chat/")
        staff.locator("#take-next").click()
        panel = staff.locator(f".chat-panel[data-conversation='{first.pk}']")
        box = panel.locator("textarea")
        box.wait_for()
        # The message box can be seen and clicked.
        assert _visible_to_click(box)
        box.click()
        staff.keyboard.type("いまの話、")
        # A colleague's chat is handed to this listener: it opens, without taking the focus
        # from the message being written to the first child.
        colleague = make_staff(Role.LISTENER, "tsu")
        services.conversation_claim_next(actor=colleague)
        services.conversation_transfer(
            actor=colleague, conversation=Conversation.objects.get(pk=second.pk), to=listener
        )
        second_panel = staff.locator(f".chat-panel[data-conversation='{second.pk}']")
        second_panel.wait_for()
        staff.keyboard.type("もう少し")
        assert box.input_value() == "いまの話、もう少し"

        # The second child writes, then ends the chat: the console shows it, without
        # moving the focus either; the closed panel can be put away.
        children.append(_ChildSocket(asgi_server, second.pk, second_token))
        children[-1].send(type="typing", on=True)
        second_panel.locator(".typing", has_text="入力中").wait_for()
        children[-1].send(type="end")
        second_panel.locator(".record").wait_for()
        assert box.evaluate("el => document.activeElement === el")
        second_panel.locator(".dismiss").click()
        second_panel.wait_for(state="detached")

        # A message the server refuses (an invisible direction mark in it) comes back to
        # the box.
        box.fill("\u202eはい")
        box.press("Control+Enter")
        panel.locator(".panel-error").wait_for()
        panel.locator(".log li.refused").wait_for()
        assert box.input_value() == "\u202eはい"  # emptied on sending, then given back
        box.fill("きかせて")
        box.press("Control+Enter")
        panel.locator(".log li.from-listener", has_text="きかせて").wait_for()
        assert box.input_value() == ""

        # The first child says something alarming: the panel says so, and the supervisor
        # on another staff page is alerted, with the way to the console.
        children.append(_ChildSocket(asgi_server, first.pk, first_token))
        children[-1].send(type="message", id="c1", text="もう しにたい")
        panel.locator(".risk", has_text="high").or_(
            panel.locator(".risk", has_text="urgent")
        ).wait_for()
        banner = boss.locator("#live-alerts a", has_text="チャット")
        banner.wait_for()
        assert banner.get_attribute("href") == "/staff/chat/"
    finally:
        for child in children:
            child.close()
        context.close()
        boss_context.close()


def test_what_a_child_wrote_is_never_lost_and_esc_while_converting_stays(
    browser: Any, asgi_server: str
) -> None:
    from uketome.chat import services
    from uketome.chat.models import Conversation

    context, child = _child_waiting(browser, asgi_server)
    try:
        # The Esc that cancels a kana-kanji conversion is not the quick exit.
        child.locator("#text").focus()
        child.evaluate(
            """() => document.getElementById("text").dispatchEvent(new KeyboardEvent(
                "keydown", {key: "Escape", isComposing: true, bubbles: true}))"""
        )
        time.sleep(0.5)
        assert child.url == asgi_server + "/chat/" and child.locator("#talk").is_visible()
        # Ending asks first: "no" keeps the chat.
        child.once("dialog", lambda dialog: dialog.dismiss())
        child.locator("#end").click()
        time.sleep(0.3)
        assert child.locator("#talk").is_visible()
        # Offline, the child writes; meanwhile the chat ends (here: as if the child had
        # been away too long). Back online, the page says what never reached anyone.
        context.set_offline(True)
        child.locator("#connection").wait_for(state="visible")
        child.locator("#text").fill("まだ いえに かえれない")
        child.locator("#send").click()
        conversation = Conversation.objects.get()
        services.conversation_end(conversation_id=conversation.pk, reason="left")
        context.set_offline(False)
        child.locator("#unsent-box").wait_for()
        assert "1" in child.locator("#unsent-title").inner_text()
        assert _texts(child, "#unsent li") == ["まだ いえに かえれない"]
        assert child.locator("#log li").count() == 0
        assert child.evaluate("() => [localStorage.length, sessionStorage.length]") == [0, 0]
    finally:
        context.close()


def test_the_chat_page_fits_320_px_reads_larger_and_passes_axe(
    browser: Any, asgi_server: str
) -> None:

    _chat_line()
    context = browser.new_context(
        locale="ja-JP", viewport={"width": 320, "height": 640}, bypass_csp=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.route("https://www.google.co.jp/**", lambda route: route.fulfill(body="neutral"))
    try:
        page.goto(asgi_server + "/chat/")
        assert serious_problems(page, "before starting") == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        page.locator("#larger-text").click()
        larger = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert larger > size * 1.2
        page.locator("#prechat button[type=submit]").click()
        page.locator("#queue-position").filter(has_text="1").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        assert serious_problems(page, "waiting") == []
        page.keyboard.press("Escape")  # quick exit, also in the middle of a chat
        page.wait_for_url("https://www.google.co.jp/**")
    finally:
        context.close()


def test_furigana_changes_in_place_and_a_link_asks_before_it_ends_the_chat(
    browser: Any, asgi_server: str, personas: dict[str, User]
) -> None:
    """An eight-year-old who asks for less (or more) furigana in the middle of a chat keeps
    the chat: the page's words change in place. Any other link that would leave the page
    asks first (not the skip link; the quick exit mid-chat is in the 320 px test)."""
    from uketome.chat import services
    from uketome.chat.models import Conversation

    context, child = _child_waiting(browser, asgi_server)
    try:
        listener = personas["listener_tsu"]
        conversation = services.conversation_claim_next(actor=listener)
        services.message_post(
            conversation_id=conversation.pk,
            sender="listener",
            client_id="hello-1",
            text="こんばんは。なんでも かいてね",
            author=listener,
        )
        child.locator("#log li.from-listener", has_text="なんでも").wait_for()
        assert child.locator("h1 ruby").count() > 0  # furigana on every kanji by default

        child.locator("nav.grades a[href='?g=none']").click()
        child.wait_for_url("**/chat/?g=none")
        child.locator("h1").filter(has_text="チャット").wait_for()
        assert child.locator("h1 ruby").count() == 0
        assert child.locator("nav.grades a[aria-current]").get_attribute("href") == "?g=none"
        assert "g=none" in (child.locator("[data-regrade=hide] a").get_attribute("href") or "")
        # The chat goes on as before: what was said is still there, both ways work.
        assert _texts(child, "#log li.from-listener .text") == ["こんばんは。なんでも かいてね"]
        child.locator("#text").fill("ふりがな けした")
        child.locator("#send").click()
        child.locator("#log li.pending").first.wait_for(state="detached")
        assert [m.text for m in Message.objects.filter(sender="child")] == ["ふりがな けした"]

        # Another link asks; "no" keeps the chat, "yes" leaves. The skip link asks nothing.
        asked: list[str] = []

        def refuse(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.dismiss()

        child.on("dialog", refuse)
        child.locator("a.skip").focus()
        child.keyboard.press("Enter")
        time.sleep(0.3)
        child.remove_listener("dialog", refuse)
        assert asked == [] and child.locator("#talk").is_visible()

        def answer(dialog: Any, accept: bool) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        child.once("dialog", lambda dialog: answer(dialog, False))
        child.locator("[data-regrade=hide] a").click()
        time.sleep(0.5)
        assert len(asked) == 1 and "チャット" in asked[0]
        assert "/chat/?g=none" in child.url and child.locator("#talk").is_visible()
        assert Conversation.objects.get().status == "active"
        child.once("dialog", lambda dialog: answer(dialog, True))
        child.locator("[data-regrade=hide] a").click()
        child.wait_for_url("**/p/hide-history/?g=none")
        assert len(asked) == 2
    finally:
        context.close()


def test_a_child_whose_listener_is_gone_is_told_and_waits_for_the_next(
    server_up_for_a_while: None, browser: Any, asgi_server: str, personas: dict[str, User]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from uketome.chat import services

    context, child = _child_waiting(browser, asgi_server)
    try:
        first = services.conversation_claim_next(actor=personas["listener_tsu"])
        child.locator("#waiting").wait_for(state="hidden")
        child.locator("#text").fill("はなしを きいて")
        child.locator("#send").click()
        child.locator("#log li.pending").first.wait_for(state="detached")
        # The listener's console is not open anywhere: after the grace, the sweep puts
        # the chat back in the queue.
        now = timezone.now()
        services.sweep(now=now)
        assert services.sweep(now=now + timedelta(seconds=121)).returned == [first.pk]
        child.locator("#waiting").wait_for()
        child.locator("#queue-position").filter(has_text="1").wait_for()
        child.locator("#log li.from-system", has_text="待って").wait_for()
        assert _texts(child, "#log li.from-child .text") == ["はなしを きいて"]
        # The next listener arrives: the child is told again, and can write on.
        services.conversation_claim_next(actor=personas["supporter_tsu"])
        child.locator("#waiting").wait_for(state="hidden")
        assert child.locator("#log li.notice", has_text="受け手が来ました").count() == 2
        assert child.evaluate("() => document.activeElement.id") == "text"
    finally:
        context.close()


def test_the_transfer_list_says_who_has_the_console_open(
    browser: Any, asgi_server: str, make_staff: Any
) -> None:
    from uketome.accounts.roles import Role
    from uketome.chat import services

    line = _chat_line()
    chat, _token = services.conversation_start(line=line)
    listener = make_staff(Role.LISTENER, "tsu")
    colleague = make_staff(Role.LISTENER, "tsu")
    contexts = [browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo") for _ in range(2)]
    staff, other = (context.new_page() for context in contexts)
    for page in (staff, other):
        page.set_default_timeout(15_000)
    try:
        _sign_in(staff, asgi_server, listener)
        staff.goto(asgi_server + "/staff/chat/")
        staff.locator("#take-next").click()
        panel = staff.locator(f".chat-panel[data-conversation='{chat.pk}']")
        option = panel.locator(f".transfer option[value='{colleague.pk}']")
        option.wait_for(state="attached")
        # The colleague has not opened the console: they cannot be chosen, and it says why.
        assert option.is_disabled()
        assert "コンソール未接続" in option.inner_text()
        # They open it: the list says so when the listener goes to it.
        _sign_in(other, asgi_server, colleague)
        other.goto(asgi_server + "/staff/chat/")
        other.locator("#console-status", has_text="接続しました").wait_for()
        staff.wait_for_timeout(3100)  # the list is asked again at most every 3 s
        panel.locator(".transfer").focus()
        chosen = f".chat-panel[data-conversation='{chat.pk}'] option[value='{colleague.pk}']"
        staff.wait_for_function(f'() => !document.querySelector("{chosen}").disabled')
        assert "未接続" not in option.inner_text()
        panel.locator(".transfer").select_option(str(colleague.pk))
        staff.once("dialog", lambda dialog: dialog.accept())
        panel.locator(".transfer-go").click()
        other.locator(f".chat-panel[data-conversation='{chat.pk}']").wait_for()
    finally:
        for context in contexts:
            context.close()


def test_the_console_asks_before_it_is_left_while_a_chat_is_live(
    server_up_for_a_while: None, browser: Any, asgi_server: str, personas: dict[str, User]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from uketome.chat import hub, services

    line = _chat_line()
    listener = personas["listener_tsu"]
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    staff = context.new_page()
    staff.set_default_timeout(15_000)
    asked: list[str] = []

    def stay(dialog: Any) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    try:
        _sign_in(staff, asgi_server, listener)
        console = asgi_server + "/staff/chat/"
        # No chat of one's own: a link leaves at once.
        staff.goto(console)
        staff.locator("#console-status", has_text="接続しました").wait_for()
        staff.locator("#take-next").click()  # nobody waits: nothing is taken
        staff.locator("a.brand").click()
        staff.wait_for_url(asgi_server + "/staff/")
        assert asked == []
        # A live chat: the browser asks, and "stay" keeps the console and its chat.
        chat, _token = services.conversation_start(line=line)
        staff.goto(console)
        staff.locator("#take-next").click()
        panel = staff.locator(f".chat-panel[data-conversation='{chat.pk}']")
        panel.wait_for()
        staff.on("dialog", stay)
        staff.locator("a.brand").click()
        staff.wait_for_timeout(500)
        assert asked == ["beforeunload"]
        assert staff.url == console and panel.is_visible()
        # The listener's network is gone for over two minutes: the chat goes back to the
        # queue. When the console is back it says why, and leaving no longer asks.
        context.set_offline(True)
        staff.locator("#console-status", has_text="接続が切れました").wait_for()
        for _ in range(100):
            if not hub.console_open(listener.pk):
                break
            staff.wait_for_timeout(100)
        now = timezone.now()
        services.sweep(now=now)
        assert services.sweep(now=now + timedelta(seconds=121)).returned == [chat.pk]
        context.set_offline(False)
        panel.locator(".log li", has_text="待ち行列に戻りました").wait_for()
        staff.locator("a.brand").click()
        staff.wait_for_url(asgi_server + "/staff/")
        assert asked == ["beforeunload"]
    finally:
        context.close()
