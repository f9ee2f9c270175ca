"""The whole Q&A flow through the pages: a child asks, a listener drafts, a supervisor
approves, and the public page shows the rewrite only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.qa.util import ja
from uketome.core.models import AuditEntry
from uketome.portal.selectors import line_statuses
from uketome.qa.models import PublishedAnswer, Question, Status

CHILD_TEXT = "クラスの子にLINEのグループからはずされた。学校に行きたくない"
REWRITE = "友だちのグループから、わたしだけはずされてしまいました。どうしたらいいですか。"
ANSWER = (
    "グループからはずされて、悲しかったね。\n"
    "あなたが悪いのではありません。信じられる大人に話してみてね。"
)


def test_child_asks_listener_drafts_supervisor_approves(
    corner: Any, staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    child = Client()
    response = child.post(reverse("qa:ask"), {"text": CHILD_TEXT, "category": "friends"})
    assert response.status_code == 302
    assert response["Location"] == reverse("qa:sent")
    assert not response.cookies
    sent = child.get(response["Location"] + "?g=none")
    assert ja("Thank you for your question") in sent.content.decode()
    assert not sent.cookies

    question = Question.objects.get()
    assert question.status == Status.NEW
    assert question.body == CHILD_TEXT
    with connection.cursor() as cursor:  # encrypted at rest
        cursor.execute("SELECT body FROM qa_question WHERE id = %s", [question.pk])
        assert CHILD_TEXT not in cursor.fetchone()[0]

    listener = sign_in(staff["listener_tsu"])
    page = listener.get(reverse("qa:staff_detail", args=[question.pk]))
    assert page.status_code == 200
    assert CHILD_TEXT in page.content.decode()
    assert AuditEntry.objects.filter(
        action="qa.question_read", target_id=str(question.pk), actor_id=staff["listener_tsu"].pk
    ).exists()

    saved = listener.post(
        reverse("qa:staff_detail", args=[question.pk]),
        {"category": "friends", "rewrite": REWRITE, "answer": ANSWER, "action": "submit"},
    )
    assert saved.status_code == 302
    question.refresh_from_db()
    assert question.status == Status.REVIEW

    supervisor = sign_in(staff["supervisor_suzuka"])
    decided = supervisor.post(reverse("qa:staff_decide", args=[question.pk]), {"action": "approve"})
    assert decided.status_code == 302
    question.refresh_from_db()
    assert question.status == Status.PUBLISHED
    item = PublishedAnswer.objects.get()
    assert item.question_text == REWRITE

    public = Client().get(reverse("qa:detail", args=[item.pk]) + "?g=none")
    html = public.content.decode()
    assert public.status_code == 200
    assert REWRITE in html
    assert "あなたが悪いのではありません。" in html
    assert CHILD_TEXT not in html
    assert "学校に行きたくない" not in html
    assert not public.cookies
    index = Client().get(reverse("qa:index")).content.decode()
    assert "学校に行きたくない" not in index


def test_page_shows_the_rewrite_and_the_lines_open_now(
    published: Callable[..., PublishedAnswer], lines: Any
) -> None:
    item = published(rewrite="部活をやめたいけど、言い出せません。", category="school")
    html = Client().get(reverse("qa:detail", args=[item.pk]) + "?g=none").content.decode()
    assert "部活をやめたいけど、言い出せません。" in html
    assert "110" in html and "189" in html
    # The lines open now: the mail line is open at any time; the foster-parent line is
    # not for children.
    open_now = [s.line.name for s in line_statuses(timezone.now()) if s.is_open]
    assert "子ども専用メール" in open_now
    section = html[html.index('id="qa-open-now"') :]
    assert all(name in section for name in open_now if name != "MIEちゃんに聞いてみよう")
    assert "里親相談" not in html


def test_each_view_counts_once_and_most_read_comes_first(
    published: Callable[..., PublishedAnswer],
) -> None:
    first = published(rewrite="勉強のやる気が出ません。どうしたらいいですか。", category="school")
    second = published(rewrite="朝おきられません。どうしたらいいですか。", category="school")
    reader = Client()
    for _ in range(3):
        reader.get(reverse("qa:detail", args=[second.pk]))
    reader.get(reverse("qa:detail", args=[first.pk]))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.view_count, second.view_count) == (1, 3)
    html = Client().get(reverse("qa:index") + "?order=popular&g=none").content.decode()
    assert html.index("朝おきられません") < html.index("勉強のやる気")
    html = Client().get(reverse("qa:index") + "?order=new&g=none").content.decode()
    assert html.index("朝おきられません") < html.index("勉強のやる気")


def test_returned_answer_goes_back_with_the_comment(
    in_review: Callable[..., Question], staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    question = in_review()
    supervisor = sign_in(staff["supervisor_suzuka"])
    response = supervisor.post(
        reverse("qa:staff_decide", args=[question.pk]),
        {"action": "return", "comment": "もう少しやさしい言葉にしてください。"},
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert question.status == Status.RETURNED
    page = sign_in(staff["listener_tsu"]).get(reverse("qa:staff_detail", args=[question.pk]))
    assert "もう少しやさしい言葉にしてください。" in page.content.decode()
    assert not PublishedAnswer.objects.exists()


def test_return_without_comment_is_refused(
    in_review: Callable[..., Question], staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    question = in_review()
    response = sign_in(staff["supervisor_suzuka"]).post(
        reverse("qa:staff_decide", args=[question.pk]), {"action": "return", "comment": " "}
    )
    assert response.status_code == 400
    question.refresh_from_db()
    assert question.status == Status.REVIEW
