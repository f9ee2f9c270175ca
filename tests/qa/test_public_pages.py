"""Public pages: browse by category, search (kana and width folded), nothing unapproved."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.qa.util import ja
from uketome.qa import services
from uketome.qa.models import PublishedAnswer, Question


def _page(address: str) -> str:
    joiner = "&" if "?" in address else "?"
    response = Client().get(f"{address}{joiner}g=none")
    assert response.status_code == 200
    assert not response.cookies
    return response.content.decode()


@pytest.fixture
def three(published: Callable[..., PublishedAnswer]) -> list[PublishedAnswer]:
    return [
        published(rewrite="いじめを見てしまいました。どうしたらいいですか。", category="friends"),
        published(rewrite="ゲームをやめられません。", category="internet"),
        published(rewrite="テストの点がわるくて、おこられました。", category="school"),
    ]


@pytest.mark.parametrize("query", ["いじめ", "イジメ", "ｲｼﾞﾒ", "いじめ　見て", "ＩＪＩＭＥ"])
def test_search_folds_kana_and_width(three: list[PublishedAnswer], query: str) -> None:
    html = _page(reverse("qa:index") + f"?q={query}")
    if query == "ＩＪＩＭＥ":
        assert "いじめを見て" not in html  # romaji is not kana: no match, no error
        return
    assert "いじめを見てしまいました" in html
    assert "ゲームをやめられません" not in html


def test_katakana_text_is_found_by_hiragana(three: list[PublishedAnswer]) -> None:
    html = _page(reverse("qa:index") + "?q=げーむ")
    assert "ゲームをやめられません" in html
    assert "いじめを見て" not in html


def test_search_finds_words_of_the_answer_and_the_category(three: list[PublishedAnswer]) -> None:
    html = _page(reverse("qa:index") + "?q=" + ja("Phones and the internet"))
    assert "ゲームをやめられません" in html
    html = _page(reverse("qa:index") + "?q=大人に話して")
    assert "いじめを見て" in html  # the fixture's answer says 信じられる大人に話してみてね


def test_browse_by_category(three: list[PublishedAnswer]) -> None:
    overview = _page(reverse("qa:index"))
    assert ja("School and studies") in overview
    assert ja("Family") not in overview  # no published item in that category
    html = _page(reverse("qa:index") + "?category=school")
    assert "テストの点がわるくて" in html
    assert "ゲームをやめられません" not in html


def test_unknown_category_and_nothing_found_say_so(three: list[PublishedAnswer]) -> None:
    html = _page(reverse("qa:index") + "?category=nope")
    assert ja("We do not know this topic.") in html
    html = _page(reverse("qa:index") + "?q=うちゅうじん")
    assert ja("We could not find an answer that matches. Try other words, or ask us.") in html


def test_nothing_unapproved_is_ever_visible(
    asked: Callable[..., Question],
    in_review: Callable[..., Question],
    published: Callable[..., PublishedAnswer],
    staff: dict[str, Any],
) -> None:
    new = asked("だれにも言えないひみつがあります。ききたいです。")
    drafted = asked("ねむれない夜があります。どうしたらいいですか。")
    services.qa_draft_save(
        actor=staff["listener_tsu"],
        question=drafted,
        category="feelings",
        rewrite="下書きのしつもんです。",
        answer="下書きのこたえです。",
    )
    waiting = in_review(rewrite="承認待ちのしつもんです。", answer="承認待ちのこたえです。")
    returned = in_review(rewrite="差し戻しのしつもんです。", answer="差し戻しのこたえです。")
    services.qa_return(actor=staff["supervisor_suzuka"], question=returned, comment="直して")
    closed = in_review(rewrite="非公開のしつもんです。", answer="非公開のこたえです。")
    services.qa_close(actor=staff["supervisor_suzuka"], question=closed)
    withdrawn = published(rewrite="取り下げたしつもんです。", answer="取り下げたこたえです。")
    services.qa_unpublish(actor=staff["supervisor_suzuka"], question=withdrawn.question)
    shown = published(rewrite="公開したしつもんです。", answer="公開したこたえです。")

    pages = [
        _page(reverse("qa:index")),
        _page(reverse("qa:index") + "?order=new"),
        _page(reverse("qa:index") + "?order=popular"),
        _page(reverse("qa:index") + "?q=しつもん"),
        _page(reverse("qa:index") + "?category=friends"),
        _page(reverse("qa:detail", args=[shown.pk])),
    ]
    everything = "".join(pages)
    assert "公開したしつもんです。" in everything
    for hidden in ("ひみつ", "ねむれない", "下書き", "承認待ち", "差し戻し", "非公開", "取り下げ"):
        assert hidden not in everything, hidden
    assert new.body not in everything
    # Questions never have public addresses: the only numbers that answer are published.
    for pk in {new.pk, drafted.pk, waiting.pk, withdrawn.pk}:
        if not PublishedAnswer.objects.filter(pk=pk).exists():
            assert Client().get(reverse("qa:detail", args=[pk])).status_code == 404


def test_public_pages_set_no_cookie_and_load_nothing_from_elsewhere(
    three: list[PublishedAnswer],
) -> None:
    for address in (
        reverse("qa:index"),
        reverse("qa:detail", args=[three[0].pk]),
        reverse("qa:ask"),
    ):
        response = Client().get(address)
        assert response.status_code == 200
        assert not response.cookies
        html = response.content.decode()
        assert not re.search(r"""(src|srcset|action)=["']?(https?:)?//""", html)
        assert not re.search(r"""<link[^>]+href=["']?(https?:)?//""", html)
        assert "<script>" not in html and " style=" not in html


def test_grade_choice_is_kept_in_links(three: list[PublishedAnswer]) -> None:
    html = Client().get(reverse("qa:index") + "?g=3").content.decode()
    assert f'href="{reverse("qa:detail", args=[three[-1].pk])}?g=3"' in html
    assert f'href="{reverse("qa:ask")}?g=3"' in html
