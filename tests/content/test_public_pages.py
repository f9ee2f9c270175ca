"""The public pages at /p/: only what is published, in Japanese, with no cookie."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from django.test import Client
from django.utils import timezone

from uketome.content import services
from uketome.content.models import NewsKind, Page


def test_a_draft_is_not_found_and_a_published_page_is(
    make_page: Callable[..., Page], client: Client
) -> None:
    page = make_page("hello")
    assert client.get("/p/hello/").status_code == 404
    services.page_publish(actor=None, page=page)
    response = client.get("/p/hello/")
    assert response.status_code == 200
    assert "はじめての" in response.content.decode()
    services.page_unpublish(actor=None, page=page)
    assert client.get("/p/hello/").status_code == 404


def test_unknown_addresses_are_not_found(db: Any, client: Client) -> None:
    assert client.get("/p/nothing-here/").status_code == 404
    assert client.get("/p/news/999/").status_code == 404


def test_the_public_page_sets_no_cookie_and_runs_no_script(
    make_page: Callable[..., Page], client: Client
) -> None:
    make_page("hello", published=True, body="<script>alert(1)</script>\n\n学校")
    assert client.get("/p/hello/").content.decode().count("&lt;script&gt;alert(1)") == 1
    for path in ["/p/hello/", "/p/hello/?g=3", "/p/news/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers, path
        assert not response.cookies, path
        page = response.content.decode()
        assert "<script>alert" not in page, path
        assert " style=" not in page and "<style" not in page, path
        assert '<html lang="ja">' in page
        assert response.headers["Content-Language"] == "ja"


def test_public_pages_stay_japanese_for_english_staff(
    make_page: Callable[..., Page], client: Client
) -> None:
    make_page("hello", published=True)
    client.cookies["uketome_lang"] = "en"
    response = client.get("/p/hello/")
    assert response.headers["Content-Language"] == "ja"


def test_the_grade_gives_the_furigana_and_stays_in_the_links(
    make_page: Callable[..., Page], client: Client
) -> None:
    make_page("hello", published=True, body="電話を かけてね", show_in_menu=True)
    every = client.get("/p/hello/").content.decode()
    assert "<rt>でんわ</rt>" in every
    assert 'href="/p/hello/"' in every  # the default grade adds nothing to links
    grade2 = client.get("/p/hello/?g=2").content.decode()
    assert "<rt>でんわ</rt>" not in grade2
    assert 'href="/p/hello/?g=2"' in grade2
    assert 'href="/p/news/?g=2"' in grade2
    assert 'href="/?g=2"' in grade2
    assert 'href="?g=2" aria-current="true"' in grade2  # the base's furigana choice
    none = client.get("/p/hello/?g=none").content.decode()
    assert "<ruby>" not in none
    assert 'href="/p/hello/?g=none"' in none


def test_the_title_bar_shows_no_markup(make_page: Callable[..., Page], client: Client) -> None:
    make_page("hello", published=True, title="{受け手|うけて}の ページ")
    page = client.get("/p/hello/").content.decode()
    assert "<title>受け手の ページ</title>" in page
    assert "<rt>うけて</rt>" in page


def _news(title: str, *, kind: str = NewsKind.NEWS, day: Any = None, publish: bool = True) -> Any:
    item = services.news_save(actor=None, title=title, body="本文", kind=kind, event_date=day)
    return services.news_publish(actor=None, item=item) if publish else item


def test_news_lists_upcoming_events_first_soonest_first(db: Any, client: Client) -> None:
    today = timezone.localdate()
    later = _news("あとの イベント", kind=NewsKind.EVENT, day=today + datetime.timedelta(days=40))
    sooner = _news("つぎの イベント", kind=NewsKind.EVENT, day=today + datetime.timedelta(days=3))
    past = _news("おわった イベント", kind=NewsKind.EVENT, day=today - datetime.timedelta(days=3))
    news = _news("おしらせ A")
    draft = _news("まだ ひみつ", publish=False)
    response = client.get("/p/news/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    titles = re.findall(r'href="/p/news/(\d+)/"', page)
    assert titles == [str(i.pk) for i in (sooner, later, news, past)]
    assert str(draft.pk) not in titles
    assert (today + datetime.timedelta(days=3)).isoformat() in page
    assert client.get(f"/p/news/{sooner.pk}/").status_code == 200
    assert client.get(f"/p/news/{draft.pk}/").status_code == 404
    services.news_unpublish(actor=None, item=sooner)
    assert client.get(f"/p/news/{sooner.pk}/").status_code == 404


def test_a_news_item_shows_its_event_date(db: Any, client: Client) -> None:
    day = timezone.localdate() + datetime.timedelta(days=10)
    item = _news("フォーラム", kind=NewsKind.EVENT, day=day)
    page = client.get(f"/p/news/{item.pk}/").content.decode()
    assert f'<time datetime="{day.isoformat()}">' in page
    assert "本文" in page


def test_a_page_cannot_be_called_news(make_page: Callable[..., Page], client: Client) -> None:
    # /p/news/ is the news list, whatever pages exist.
    assert client.get("/p/news/").status_code == 200
