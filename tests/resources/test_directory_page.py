"""The public directory page: search (kanji, kana, width), filters, bad input, escaping,
and nothing kept about the child who reads it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from uketome.resources.models import Resource

URL = "/resources/"


@pytest.fixture
def listing(put: Callable[..., Resource]) -> dict[str, Resource]:
    return {
        "guidance": put(
            "北勢児童相談所",
            kana="ほくせいじどうそうだんじょ",
            topics=["child_guidance", "abuse"],
            for_whom="both",
            description="子どもと家族の相談を受けています。",
        ),
        "sos": put(
            "24時間子供SOSダイヤル",
            kana="にじゅうよじかんこどもえすおーえすだいやる",
            topics=["anything", "bullying"],
            phone="0120-0-78310",
            phone_hours="24時間",
        ),
        "police": put("警察相談専用電話", kana="けいさつ", topics=["police"], phone="#9110"),
        "tsu": put(
            "津のこども食堂",
            kana="つのこどもしょくどう",
            municipality="津市",
            topics=["place_to_be"],
        ),
        "suzuka": put(
            "鈴鹿のフリースクール",
            kana="すずかのふりーすくーる",
            municipality="鈴鹿市",
            topics=["free_school", "not_going_to_school"],
        ),
        "hidden": put(
            "非公開の相談室",
            kana="ひこうかいのそうだんしつ",
            municipality="伊賀市",
            topics=["lgbtq"],
            published=False,
        ),
    }


_SHOWN_WITH_RUBY = re.compile(r'<span aria-hidden="true">.*?</span>', re.S)
_TAG = re.compile(r"<[^>]+>")


def spoken(page: str) -> str:
    """The page's text as a screen reader gets it: the copies with ruby left out."""
    return _TAG.sub("", _SHOWN_WITH_RUBY.sub("", page))


def names_on(page: str, listing: dict[str, Resource]) -> set[str]:
    text = spoken(page)
    return {key for key, resource in listing.items() if resource.name in text}


def get(client: Client, **params: str) -> tuple[int, str]:
    response = client.get(URL, params)
    return response.status_code, response.content.decode()


def test_the_address_is_the_named_route() -> None:
    assert reverse("resources:directory") == URL


def test_lists_every_published_place_and_never_an_unpublished_one(
    client: Client, listing: dict[str, Resource]
) -> None:
    status, page = get(client)
    assert status == 200
    assert names_on(page, listing) == {"guidance", "sos", "police", "tsu", "suzuka"}
    # Nor its town, nor its only topic, in the filters.
    assert "伊賀市" not in page
    assert "topic=lgbtq" not in page


@pytest.mark.parametrize(
    "query",
    [
        "児童相談所",  # kanji
        "じどうそうだんじょ",  # the hiragana reading
        "ジドウソウダンジョ",  # katakana
        "ｼﾞﾄﾞｳｿｳﾀﾞﾝｼﾞｮ",  # half-width katakana
        "  ほくせい　じどう ",  # words with full-width and half-width spaces: all must match
        "ぎゃくたい",  # a word of its topic
        "虐待",  # its topic's label (and topic words)
    ],
)
def test_search_finds_by_kanji_reading_and_any_kana_width(
    client: Client, listing: dict[str, Resource], query: str
) -> None:
    status, page = get(client, q=query)
    assert status == 200
    assert names_on(page, listing) == {"guidance"}


@pytest.mark.parametrize("query", ["ＳＯＳ", "sos", "ＳｏＳ"])
def test_search_folds_latin_width_and_case(
    client: Client, listing: dict[str, Resource], query: str
) -> None:
    assert names_on(get(client, q=query)[1], listing) == {"sos"}


def test_search_never_finds_an_unpublished_place(
    client: Client, listing: dict[str, Resource]
) -> None:
    status, page = get(client, q="ひこうかい")
    assert status == 200
    assert names_on(page, listing) == set()
    assert 'class="empty"' in page


def test_topic_filter(client: Client, listing: dict[str, Resource]) -> None:
    status, page = get(client, topic="free_school")
    assert status == 200
    assert names_on(page, listing) == {"suzuka"}
    assert 'aria-current="page"' in page


def test_topic_links_keep_the_search_and_the_town(
    client: Client, listing: dict[str, Resource]
) -> None:
    page = get(client, q="こども", municipality="津市")[1]
    assert "?q=%E3%81%93%E3%81%A9%E3%82%82&amp;topic=place_to_be&amp;municipality=" in page


def test_municipality_filter_shows_the_town_and_the_places_for_everyone(
    client: Client, listing: dict[str, Resource]
) -> None:
    status, page = get(client, municipality="津市")
    assert status == 200
    assert names_on(page, listing) == {"guidance", "sos", "police", "tsu"}
    assert '<option value="津市" selected>' in page


def test_filters_combine(client: Client, listing: dict[str, Resource]) -> None:
    page = get(client, municipality="津市", topic="place_to_be", q="しょくどう")[1]
    assert names_on(page, listing) == {"tsu"}
    page = get(client, municipality="鈴鹿市", topic="place_to_be")[1]
    assert names_on(page, listing) == set()
    assert 'class="empty"' in page


def test_empty_search_shows_everything(client: Client, listing: dict[str, Resource]) -> None:
    for query in ["", "   ", "\u3000"]:
        status, page = get(client, q=query)
        assert status == 200
        assert names_on(page, listing) == {"guidance", "sos", "police", "tsu", "suzuka"}


@pytest.mark.parametrize(
    "params",
    [
        {"q": "あ" * 100_000},
        {"q": "児童相談所" + "x" * 500},
        {"q": "%"},
        {"q": "_"},
        {"q": "\\"},
        {"q": "' OR 1=1 --"},
        {"q": "\x00ないことば\x00"},
        {"q": "😀🙂"},
        {"q": "<script>alert(1)</script>"},
        {"topic": "no-such-topic"},
        {"topic": "<b>x</b>"},
        {"topic": "x" * 10_000},
        {"municipality": "どこにもない市"},
        {"municipality": "伊賀市"},  # only an unpublished place is there
        {"q": ["児童", "ないことば"]},
    ],
)
def test_bad_or_odd_input_gives_a_clear_empty_state(
    client: Client, listing: dict[str, Resource], params: dict[str, Any]
) -> None:
    response = client.get(URL, params)
    page = response.content.decode()
    assert response.status_code == 200
    assert names_on(page, listing) == set()
    assert 'class="empty"' in page
    assert "<script>alert" not in page
    assert "<b>x</b>" not in page


def test_broken_encoding_and_invisible_characters(
    client: Client, listing: dict[str, Resource]
) -> None:
    response = client.get(f"{URL}?q=%ED%A0%80%FF&municipality=%00&topic=%00")
    assert response.status_code == 200
    # Nothing usable is left of the town and topic: no filter, everything is listed.
    assert names_on(response.content.decode(), listing) == set()
    response = client.get(f"{URL}?municipality=%00%E2%80%8B&topic=%00")
    assert response.status_code == 200
    assert len(names_on(response.content.decode(), listing)) == 5


def test_a_huge_search_is_cut_and_said_so(client: Client, listing: dict[str, Resource]) -> None:
    page = get(client, q="児童相談所" + " " * 95 + "ignored words")[1]
    assert names_on(page, listing) == {"guidance"}
    assert 'class="note"' in page
    assert 'maxlength="100"' in page


def test_a_name_is_shown_escaped(client: Client, put: Callable[..., Resource]) -> None:
    put(
        "<script>alert(1)</script>相談",
        description='<img src=x onerror="alert(2)">',
        phone_hours="<b>毎日</b>",
    )
    for grade in ["0", "3", "none"]:
        response = client.get(URL, {"g": grade})
        page = response.content.decode()
        assert response.status_code == 200
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<img" not in page
        assert "<b>毎日" not in page


def test_the_search_words_are_shown_escaped(client: Client, listing: dict[str, Resource]) -> None:
    page = get(client, q='"><script>alert(1)</script>')[1]
    assert "<script>alert" not in page
    assert 'value="&quot;&gt;&lt;script&gt;' in page


def test_tap_to_call_links(client: Client, listing: dict[str, Resource]) -> None:
    page = get(client)[1]
    assert 'href="tel:0120078310"' in page
    assert 'href="tel:%239110"' in page  # "#" would start a fragment
    assert 'href="tel:189"' in page  # the emergency numbers are always there


def test_web_address_is_a_link_and_text_but_never_script(
    client: Client, put: Callable[..., Resource]
) -> None:
    resource = put("ウェブのある団体", url="https://example.org/soudan/")
    page = get(client)[1]
    assert 'href="https://example.org/soudan/" rel="noopener noreferrer"' in page
    assert ">example.org/soudan</a>" in page
    Resource.objects.filter(pk=resource.pk).update(url="javascript:alert(1)")
    page = get(client)[1]
    assert "javascript:" not in page


def test_the_page_is_japanese_and_keeps_no_cookie(
    client: Client, listing: dict[str, Resource]
) -> None:
    client.cookies["uketome_lang"] = "en"
    response = client.get(URL, {"q": "いじめ", "topic": "bullying", "municipality": "津市"})
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ja">' in page
    assert response.headers["Content-Language"] == "ja"
    assert "Set-Cookie" not in response.headers
    assert not response.cookies


def test_a_child_who_only_reads_gets_no_cookie(
    client: Client, listing: dict[str, Resource]
) -> None:
    response = client.get(URL)
    assert "Set-Cookie" not in response.headers
    assert not response.cookies


def test_no_inline_style_or_script(client: Client, listing: dict[str, Resource]) -> None:
    page = get(client)[1]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert all('src="/static/' in attributes and not body.strip() for attributes, body in scripts)
    assert "style=" not in page and "<style" not in page
    assert " on" + "click=" not in page


def test_furigana_follows_the_grade_and_links_keep_it(
    client: Client, listing: dict[str, Resource]
) -> None:
    every_kanji = get(client)[1]
    assert "<ruby>" in every_kanji
    none = get(client, g="none")[1]
    assert "<ruby>" not in none
    assert "北勢児童相談所" in none
    assert "&amp;g=none" in none  # the topic links keep the choice
    assert '<input type="hidden" name="g" value="none">' in none
    assert "g=" not in every_kanji.split("<form", 1)[1].split("</form>", 1)[0]


def test_only_reading_is_allowed(client: Client, listing: dict[str, Resource]) -> None:
    assert client.post(URL, {"q": "x"}).status_code == 405
    assert client.head(URL).status_code == 200


def test_query_count_does_not_grow_with_the_list(
    client: Client, put: Callable[..., Resource], django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        put(f"団体{n}", topics=["anything", "mind"], municipality=f"町{n % 5}")
    with django_assert_max_num_queries(6):
        assert client.get(URL).status_code == 200
