"""The personal-data check: what it finds, the command, and publishing blocked until
every flag is resolved."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from bench.pii import load
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext as _

from uketome.core.models import AuditEntry
from uketome.qa import pii, services
from uketome.qa.models import FlagState, PublishedAnswer, Question, Status


@pytest.mark.parametrize(
    ("sentence", "kinds"),
    [
        ("田中さんにいじめられています。", ["name"]),
        ("りこちゃんとまた遊びたい。", ["name"]),
        ("私の名前はゆいです。", ["name"]),
        ("四日市南高校に通っています。", ["school"]),
        ("さくら小学校の3年生です。", ["school"]),
        ("携帯は０９０ー２２２２ー３３３３です。", ["phone"]),
        ("yui_2013@example.com に返事ください。", ["email"]),
        ("津市中央1-2-3に住んでいます。", ["address"]),
        ("桜町3丁目の公園で遊んでいます。", ["address"]),
        ("インスタの@sakura_0505をフォローして。", ["sns_id"]),
        ("LINEのIDはabc_123です。", ["sns_id"]),
        ("Discordのタグはkuma#1234です。", ["sns_id"]),
        ("鈴鹿西中学校の田中先生に怒られた。", ["name", "school"]),
        # Hard negatives: no one can be identified from these.
        ("高校1年です。", []),
        ("インスタで悪口を書かれた。", []),
        ("3組の先生がこわいです。", []),
        ("電話が怖いです。", []),
        ("お母さんが毎日怒ります。", []),
        ("県立高校に行きたいです。", []),
        ("0120-99-7777に電話したらつながりました。", []),
        ("市の大会で3位になりました。", []),
        ("TikTok Liteを入れていいですか。", []),
    ],
)
def test_kinds_found(sentence: str, kinds: list[str]) -> None:
    assert pii.kinds_found(sentence) == kinds


def test_the_name_list_comes_from_the_dataset_package() -> None:
    assert pii.is_known_name("さくら")
    assert pii.is_known_name("ハルト")  # katakana read as hiragana
    assert pii.is_known_last_name("佐藤")
    assert not pii.is_known_name("こわい")


def test_labelled_set_is_large_and_mixed() -> None:
    rows = load()
    assert len(rows) >= 150
    assert sum(1 for kinds, _s, _h in rows if not kinds) >= 60
    assert {kind for kinds, _s, _h in rows for kind in kinds} == set(pii.KINDS)


def test_labelled_set_scores() -> None:
    """Precision and recall on the labelled set stay high (bench.pii prints them)."""
    tp = fp = fn = 0
    for expected, sentence, _held in load():
        found = bool(pii.kinds_found(sentence))
        tp += found and bool(expected)
        fp += found and not expected
        fn += not found and bool(expected)
    assert tp / (tp + fp) >= 0.95
    assert tp / (tp + fn) >= 0.9


def test_command_reads_lines_and_prints_ok_or_flag() -> None:
    out = io.StringIO()
    stdin = io.StringIO("高校1年です\n田中さんと090-1234-5678\n\n")
    command = __import__("uketome.qa.management.commands.pii_check", fromlist=["Command"]).Command(
        stdout=out
    )
    command.stdin = stdin
    call_command(command)
    assert out.getvalue().splitlines() == ["ok", "flag\tname,phone", "ok"]


def test_publishing_waits_until_the_flag_is_edited_away(
    in_review: Callable[..., Question], staff: dict[str, Any]
) -> None:
    question = in_review(rewrite="田中さんに無視されてつらいです。")
    flags = list(question.flags.all())
    assert [(f.field, f.kind, f.found) for f in flags] == [("rewrite", "name", "田中さん")]
    with pytest.raises(services.QaError) as problem:
        services.qa_approve(actor=staff["supervisor_suzuka"], question=question)
    assert _("Resolve the personal-data flags first (%(count)d open).") % {"count": 1} in str(
        problem.value
    )
    assert not PublishedAnswer.objects.exists()

    services.qa_return(actor=staff["supervisor_suzuka"], question=question, comment="名前を消して")
    services.qa_draft_save(
        actor=staff["listener_tsu"],
        question=question,
        category="friends",
        rewrite="友だちに無視されてつらいです。",
        answer="つらかったね。",
    )
    assert not question.flags.exists()
    services.qa_submit(actor=staff["listener_tsu"], question=question)
    item = services.qa_approve(actor=staff["supervisor_suzuka"], question=question)
    assert "田中" not in item.question_text


def test_the_answer_is_checked_too(
    in_review: Callable[..., Question], staff: dict[str, Any]
) -> None:
    question = in_review(answer="090-1234-5678に電話してね。")
    assert [(f.field, f.kind) for f in question.flags.all()] == [("answer", "phone")]
    with pytest.raises(services.QaError):
        services.qa_approve(actor=staff["supervisor_suzuka"], question=question)


def test_approver_marks_a_flag_not_personal_audited_then_publishes(
    in_review: Callable[..., Question], staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    question = in_review(rewrite="ドラえもんみたいな友だちがほしいです。鈴木さんみたいな。")
    flag = question.flags.get()
    supervisor = sign_in(staff["supervisor_suzuka"])
    page = supervisor.get(reverse("qa:staff_detail", args=[question.pk])).content.decode()
    assert "鈴木さん" in page
    response = supervisor.post(
        reverse("qa:staff_flag", args=[question.pk, flag.pk]), {"reason": "有名人"}
    )
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.state == FlagState.NOT_PERSONAL
    assert flag.resolved_by == staff["supervisor_suzuka"]
    entry = AuditEntry.objects.get(action="qa.flag_marked_not_personal")
    assert entry.actor_id == staff["supervisor_suzuka"].pk and entry.reason == "有名人"
    supervisor.post(reverse("qa:staff_decide", args=[question.pk]), {"action": "approve"})
    question.refresh_from_db()
    assert question.status == Status.PUBLISHED


def test_a_listener_cannot_mark_a_flag_not_personal(
    in_review: Callable[..., Question], staff: dict[str, Any], sign_in: Callable[..., Client]
) -> None:
    question = in_review(rewrite="田中さんに無視されてつらいです。")
    flag = question.flags.get()
    response = sign_in(staff["listener_suzuka"]).post(
        reverse("qa:staff_flag", args=[question.pk, flag.pk])
    )
    assert response.status_code == 404
    flag.refresh_from_db()
    assert flag.state == FlagState.OPEN


def test_a_flag_marked_not_personal_stays_so_while_the_words_stay(
    in_review: Callable[..., Question], staff: dict[str, Any]
) -> None:
    question = in_review(rewrite="鈴木さんみたいになりたい。")
    services.qa_flag_dismiss(actor=staff["supervisor_suzuka"], flag=question.flags.get())
    services.qa_return(actor=staff["supervisor_suzuka"], question=question, comment="答えを短く")
    services.qa_draft_save(
        actor=staff["listener_tsu"],
        question=question,
        category="friends",
        rewrite="鈴木さんみたいになりたい。佐藤さんも。",
        answer="すてきだね。",
    )
    states = {f.found: f.state for f in question.flags.all()}
    assert states == {"鈴木さん": FlagState.NOT_PERSONAL, "佐藤さん": FlagState.OPEN}
