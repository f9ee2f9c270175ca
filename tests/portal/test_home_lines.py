"""The home page shows the lines open now, with their hours and next opening, with
furigana by the child's grade, and is the same for everyone within a minute."""

from __future__ import annotations

import asyncio
from datetime import datetime, time
from typing import Any

import pytest
from django.test import Client

from tests.conftest import run_async
from uketome.core.dates import TOKYO
from uketome.helpline.models import Line, OpeningHours
from uketome.portal.selectors import line_statuses


@pytest.fixture
def two_lines(db: Any) -> dict[str, Line]:
    mail = Line.objects.create(
        name="いつでもメール",
        slug="m",
        identity_policy="anonymous",
        always_open=True,
        channels=["mail"],
        sort_order=2,
    )
    phone = Line.objects.create(
        name="夕方でんわ",
        slug="p",
        identity_policy="anonymous",
        channels=["phone"],
        phone_number="0120-00-0000",
        sort_order=1,
    )
    for day in range(7):
        OpeningHours.objects.create(line=phone, weekday=day, opens=time(16), closes=time(21))
    return {"mail": mail, "phone": phone}


def test_statuses_open_first_with_closing_and_next_opening(two_lines: dict[str, Line]) -> None:
    evening = datetime(2026, 11, 26, 20, 55, tzinfo=TOKYO)
    statuses = line_statuses(evening)
    assert [s.line.slug for s in statuses] == ["p", "m"]
    phone = statuses[0]
    assert phone.is_open and phone.closes_at == datetime(2026, 11, 26, 21, 0, tzinfo=TOKYO)
    assert phone.phone_href == "tel:0120000000"
    assert phone.hours == [("毎日", "16:00〜21:00")]
    late = line_statuses(datetime(2026, 11, 26, 21, 0, tzinfo=TOKYO))
    closed = next(s for s in late if s.line.slug == "p")
    assert not closed.is_open
    assert closed.next_opening == datetime(2026, 11, 27, 16, 0, tzinfo=TOKYO)


def test_home_lists_open_lines_as_tap_to_call(two_lines: dict[str, Line], client: Client) -> None:
    page = client.get("/").content.decode()
    open_now = page.split('id="open-now"')[1].split("</section>")[0]
    assert "いつでもメール" in open_now
    assert "</html>" in page
    assert 'href="tel:0120000000"' in page  # in the hours list at least


def test_furigana_follows_the_grade_in_the_address(db: Any, client: Client) -> None:
    all_kanji = client.get("/").content.decode()
    none = client.get("/?g=none").content.decode()
    grade6 = client.get("/?g=6").content.decode()
    assert "<rt>" in all_kanji
    assert "<rt>" not in none
    assert all_kanji.count("<rt>") > grade6.count("<rt>")
    # The choice is kept in links, not in a cookie.
    assert 'href="/?g=none"' in none or "?g=none" in none
    assert not client.cookies


def _asgi_get(app: Any, path: str, cookie: bool = False) -> tuple[int, bytes, dict[bytes, bytes]]:
    async def run() -> tuple[int, bytes, dict[bytes, bytes]]:
        sent: list[dict[str, Any]] = []
        headers = [(b"host", b"testserver")]
        if cookie:
            headers.append((b"cookie", b"uketome_staff=x"))
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": headers,
            "scheme": "http",
            "http_version": "1.1",
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 1),
            "root_path": "",
        }

        calls = {"n": 0}

        async def receive() -> dict[str, Any]:
            calls["n"] += 1
            if calls["n"] == 1:
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.sleep(3600)  # the client stays connected
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        start = sent[0]
        body = b"".join(m.get("body", b"") for m in sent[1:])
        return start["status"], body, dict(start["headers"])

    return run_async(run)  # type: ignore[no-any-return]


@pytest.mark.django_db(transaction=True)
def test_public_pages_are_cached_until_the_minute_ends(
    two_lines: dict[str, Line], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uketome.portal.cache as cache_module
    from uketome.portal.cache import MinuteCache

    clock = {"now": 1_800_000_020.0}  # 20 seconds into a minute
    monkeypatch.setattr(cache_module.time, "time", lambda: clock["now"])
    from django.core.asgi import get_asgi_application

    app = MinuteCache(get_asgi_application())
    status, first, headers = _asgi_get(app, "/")
    assert status == 200
    assert b"x-uketome-public-cache" not in headers
    Line.objects.filter(slug="m").update(name="なまえがかわった")
    _status, again, _ = _asgi_get(app, "/")
    assert again == first  # same minute: the same page
    _status, staff_view, _ = _asgi_get(app, "/", cookie=True)
    assert "なまえがかわった".encode() in staff_view  # a browser with cookies skips the cache
    clock["now"] += 40  # the next minute
    _status, fresh, _ = _asgi_get(app, "/")
    assert "なまえがかわった".encode() in fresh


def test_lines_without_a_phone_number_lead_to_their_page(db: Any) -> None:
    """A child taps an open chat, letter or Q&A line and lands on its page."""
    for slug, channels in (("c", ["chat"]), ("m", ["mail"]), ("q", ["qa"])):
        Line.objects.create(
            name=f"line-{slug}",
            slug=slug,
            identity_policy="anonymous",
            always_open=True,
            channels=channels,
        )
    html = Client().get("/?g=3").content.decode()
    assert 'href="/chat/?line=c&amp;g=3"' in html
    assert 'href="/mail/?g=3"' in html
    assert 'href="/qa/?g=3"' in html
