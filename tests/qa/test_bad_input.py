"""Bad input on the children's form and pages: a clear message, what was typed kept,
nothing valid lost, nothing revealed, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client
from django.urls import reverse

from tests.qa.util import ja
from uketome.qa import services, views
from uketome.qa.models import PublishedAnswer, Question


def _ask(
    data: dict[str, str], client: Client | None = None, headers: dict[str, str] | None = None
) -> Any:
    return (client or Client()).post(reverse("qa:ask") + "?g=none", data, headers=headers or {})


def test_empty_question(corner: Any) -> None:
    response = _ask({"text": "   "})
    assert response.status_code == 400
    assert ja("Please write your question.") in response.content.decode()
    assert not Question.objects.exists()


def test_too_short_question_keeps_the_words(corner: Any) -> None:
    response = _ask({"text": "こわい"})
    html = response.content.decode()
    assert response.status_code == 400
    assert ja("Please write a little more.") in html
    assert ">こわい</textarea>" in html


def test_too_long_question_keeps_every_word(corner: Any) -> None:
    text = "あ" * (services.QUESTION_MAX - 1) + "いう"
    response = _ask({"text": text, "category": "school"})
    html = response.content.decode()
    assert response.status_code == 400
    message = ja("Your question is too long. Please make it %(max)d characters or fewer.") % {
        "max": services.QUESTION_MAX
    }
    assert message in html
    assert text in html
    assert '<option value="school" selected>' in html
    assert not Question.objects.exists()


def test_html_is_kept_as_text_and_shown_as_text(
    corner: Any, staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    text = '<script>alert("x")</script><b>たすけて</b> どうしたらいいですか'
    assert _ask({"text": text}).status_code == 302
    question = Question.objects.get()
    assert question.body == text
    page = sign_in(staff["listener_tsu"]).get(reverse("qa:staff_detail", args=[question.pk]))
    html = page.content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<script>alert" not in html


def test_html_in_a_published_answer_is_shown_as_text(
    published: Callable[..., PublishedAnswer],
) -> None:
    item = published(answer='<img src=x onerror="alert(1)">だいじょうぶだよ')
    html = Client().get(reverse("qa:detail", args=[item.pk]) + "?g=none").content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x" in html


def test_control_characters_are_dropped(corner: Any) -> None:
    assert _ask({"text": "ねむれ\x00ない夜が\x1bあります"}).status_code == 302
    assert Question.objects.get().body == "ねむれない夜があります"


def test_unknown_category_is_ignored(corner: Any) -> None:
    assert _ask({"text": "ねむれない夜があります", "category": "<x>" * 30}).status_code == 302
    assert Question.objects.get().category_hint == ""


def test_an_empty_post_asks_for_the_question(corner: Any) -> None:
    response = Client().post(reverse("qa:ask") + "?g=none")
    assert response.status_code == 400
    assert ja("Please write your question.") in response.content.decode()


def test_a_flood_gets_a_kind_wait_message(corner: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(views, "ASK_LIMIT", 2)
    client = Client()
    for n in range(2):
        assert _ask({"text": f"しつもんです {n} ばんめ"}, client).status_code == 302
    response = _ask({"text": "しつもんです 3 ばんめ"}, client)
    html = response.content.decode()
    assert response.status_code == 429
    assert (
        ja("Many questions came in a short time. Please wait a little and send it again.") in html
    )
    assert "しつもんです 3 ばんめ</textarea>" in html  # kept, to send again later
    assert Question.objects.count() == 2


def test_a_post_from_another_site_is_refused(corner: Any) -> None:
    response = _ask({"text": "ねむれない夜があります"}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    response = _ask({"text": "ねむれない夜があります"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert not Question.objects.exists()
    same_site = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert _ask({"text": "ねむれない夜があります"}, headers=same_site).status_code == 302


def test_robots_filling_the_trap_are_thanked_and_ignored(corner: Any) -> None:
    response = _ask({"text": "買ってください http://spam.example", "website": "spam"})
    assert response.status_code == 302
    assert not Question.objects.exists()


def test_search_with_odd_input_never_fails(published: Callable[..., PublishedAnswer]) -> None:
    published()
    for query in ("\x00", "%", "_", "'; DROP TABLE qa_question;--", "あ" * 500, "<b>x</b>"):
        response = Client().get(reverse("qa:index"), {"q": query, "category": "\x00"})
        assert response.status_code == 200
    html = Client().get(reverse("qa:index"), {"q": "<b>x</b>"}).content.decode()
    assert "<b>x</b>" not in html
    assert Client().get("/qa/999999/").status_code == 404
    assert Client().get("/qa/abc/").status_code == 404


def test_wrong_methods(corner: Any) -> None:
    assert Client().post(reverse("qa:index")).status_code == 405
    assert Client().delete(reverse("qa:ask")).status_code == 405


def test_staff_bad_draft_keeps_what_was_typed(
    asked: Callable[..., Question], staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    question = asked()
    client = sign_in(staff["listener_tsu"])
    long_answer = "こたえ" * 1000
    response = client.post(
        reverse("qa:staff_detail", args=[question.pk]),
        {"category": "friends", "rewrite": "書きなおし", "answer": long_answer, "action": "save"},
    )
    assert response.status_code == 400
    assert long_answer in response.content.decode()
    question.refresh_from_db()
    assert question.answer is None
    response = client.post(
        reverse("qa:staff_detail", args=[question.pk]),
        {"category": "nope", "rewrite": "書きなおし", "answer": "x", "action": "save"},
    )
    assert response.status_code == 400
