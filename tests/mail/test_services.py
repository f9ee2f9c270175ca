"""Letters end to end through the services: the secret, the lockout, claiming, approval,
what the child sees, the contact record, risk alerts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from tests.mail.conftest import ja
from uketome.accounts.models import User
from uketome.core.models import AuditEntry
from uketome.helpline.models import Contact, Escalation
from uketome.mail import secrets, selectors, services
from uketome.mail.models import Author, Letter, LetterThread, MailSettings, ReplyState, ThreadStatus

pytestmark = pytest.mark.django_db


def _claimed_with_reply(
    send: Callable[..., services.Sent], staff: dict[str, User], body: str = "お手紙ありがとう。"
) -> tuple[LetterThread, Letter]:
    thread = send().thread
    assert services.thread_claim(actor=staff["listener_tsu"], thread=thread)
    reply = services.reply_save(actor=staff["listener_tsu"], thread=thread, body=body, submit=True)
    return thread, reply


# --- The secret -----------------------------------------------------------------------


def test_a_letter_gets_a_number_and_four_kind_words(send: Callable[..., services.Sent]) -> None:
    sent = send()
    assert len(sent.thread.number) == 8 and sent.thread.number.isdigit()
    words = sent.secret.split(" ")
    assert len(words) == 4 and all(word in secrets.WORDS for word in words)
    assert sent.thread.secret_hash.startswith("argon2")
    assert sent.secret not in sent.thread.secret_hash


def test_letters_are_encrypted_at_rest(send: Callable[..., services.Sent]) -> None:
    send(body="ひみつの手紙です")
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM mail_letter")
        (stored,) = cursor.fetchone()
    assert "ひみつ" not in stored
    assert Letter.objects.get().body == "ひみつの手紙です"


def test_the_secret_is_forgiving_about_how_it_is_typed(send: Callable[..., services.Sent]) -> None:
    sent = send()
    number = sent.thread.number
    katakana = "".join(chr(ord(ch) + 0x60) if "ぁ" <= ch <= "ゖ" else ch for ch in sent.secret)
    for typed_number, typed_secret in [
        (number, sent.secret),
        (f"{number[:4]}-{number[4:]}", sent.secret.replace(" ", "")),
        ("".join(chr(ord(d) + 0xFEE0) for d in number), sent.secret.replace(" ", "　")),
        (number, katakana),
    ]:
        assert services.thread_unlock(number=typed_number, secret=typed_secret) == sent.thread


def test_an_unknown_number_answers_exactly_like_a_wrong_secret(
    send: Callable[..., services.Sent],
) -> None:
    sent = send()
    with pytest.raises(services.WrongKey) as wrong:
        services.thread_unlock(number=sent.thread.number, secret="りんご りんご りんご りんご")
    unknown = "99999999" if sent.thread.number != "99999999" else "88888888"
    with pytest.raises(services.WrongKey) as missing:
        services.thread_unlock(number=unknown, secret=sent.secret)
    assert str(wrong.value) == str(missing.value)
    assert str(wrong.value) == ja(
        "The letter number or the secret words are not right. Please check them and try again."
    )


def test_a_number_locks_after_a_few_wrong_secrets_even_for_the_right_one(
    send: Callable[..., services.Sent],
) -> None:
    sent = send()
    for _ in range(services.LOCK_AFTER):
        with pytest.raises(services.WrongKey):
            services.thread_unlock(number=sent.thread.number, secret="ねこ ねこ ねこ ねこ")
    with pytest.raises(services.LetterLocked):
        services.thread_unlock(number=sent.thread.number, secret=sent.secret)
    sent.thread.refresh_from_db()
    assert sent.thread.locked_until is not None
    assert AuditEntry.objects.filter(action="letter.locked").count() == 1
    # Later the lock ends and the right secret opens the letter again.
    LetterThread.objects.filter(pk=sent.thread.pk).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    from django.core.cache import cache

    cache.clear()
    assert services.thread_unlock(number=sent.thread.number, secret=sent.secret) == sent.thread


def test_an_unknown_number_locks_the_same_way(send: Callable[..., services.Sent]) -> None:
    sent = send()
    unknown = "12121212" if sent.thread.number != "12121212" else "34343434"
    messages = []
    for _ in range(services.LOCK_AFTER + 1):
        with pytest.raises(services.MailError) as error:
            services.thread_unlock(number=unknown, secret=sent.secret)
        messages.append(type(error.value))
    assert messages[-1] is services.LetterLocked
    assert messages[: services.LOCK_AFTER] == [services.WrongKey] * services.LOCK_AFTER


def test_a_right_secret_resets_the_count(send: Callable[..., services.Sent]) -> None:
    sent = send()
    for _ in range(services.LOCK_AFTER - 1):
        with pytest.raises(services.WrongKey):
            services.thread_unlock(number=sent.thread.number, secret="ねこ")
    services.thread_unlock(number=sent.thread.number, secret=sent.secret)
    with pytest.raises(services.WrongKey):
        services.thread_unlock(number=sent.thread.number, secret="ねこ")
    assert services.thread_unlock(number=sent.thread.number, secret=sent.secret) == sent.thread


# --- Bad letters ----------------------------------------------------------------------


@pytest.mark.parametrize("body", ["", "   \n  "])
def test_an_empty_letter_is_refused_kindly(send: Callable[..., services.Sent], body: str) -> None:
    with pytest.raises(services.MailError) as error:
        send(body=body)
    assert str(error.value) == ja("Please write your letter.")
    assert LetterThread.objects.count() == 0


def test_an_oversized_letter_is_refused_with_its_length(send: Callable[..., services.Sent]) -> None:
    with pytest.raises(services.MailError) as error:
        send(body="あ" * (services.MAX_LETTER_CHARS + 1))
    assert str(services.MAX_LETTER_CHARS + 1) in str(error.value)
    assert LetterThread.objects.count() == 0


def test_the_same_form_sent_twice_is_stored_once(send: Callable[..., services.Sent]) -> None:
    import uuid

    ref = uuid.uuid4()
    send(client_ref=ref)
    with pytest.raises(services.AlreadySent):
        send(client_ref=ref)
    assert LetterThread.objects.count() == 1


def test_a_notification_address_is_ignored_unless_the_line_allows_it(
    send: Callable[..., services.Sent], mail_settings: MailSettings
) -> None:
    assert send(notify_address="child@example.com").thread.notify_address is None
    mail_settings.notification_allowed = True
    mail_settings.save()
    assert send(notify_address="child@example.com").thread.notify_address == "child@example.com"
    with pytest.raises(services.MailError) as error:
        send(notify_address="not an address")
    assert error.value.field == "notify_address"


# --- Staff ----------------------------------------------------------------------------


def test_two_listeners_cannot_take_the_same_letter(
    send: Callable[..., services.Sent], staff: dict[str, User]
) -> None:
    thread = send().thread
    assert services.thread_claim(actor=staff["listener_tsu"], thread=thread)
    assert not services.thread_claim(actor=staff["listener2_tsu"], thread=thread)
    thread.refresh_from_db()
    assert thread.claimed_by == staff["listener_tsu"]
    assert thread.site.slug == "tsu"  # type: ignore[union-attr]


@pytest.mark.django_db(transaction=True)
def test_claims_at_the_same_moment_give_the_letter_to_one(
    send: Callable[..., services.Sent], staff: dict[str, User]
) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the conditional update is tested above")
    thread = send().thread
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def take(user: User) -> None:
        barrier.wait()
        results.append(services.thread_claim(actor=user, thread=thread))
        connection.close()

    workers = [
        threading.Thread(target=take, args=(staff[name],))
        for name in ("listener_tsu", "listener2_tsu")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(results) == [False, True]


def test_only_the_listener_who_took_it_drafts(
    send: Callable[..., services.Sent], staff: dict[str, User]
) -> None:
    thread = send().thread
    services.thread_claim(actor=staff["listener_tsu"], thread=thread)
    with pytest.raises(services.MailError):
        services.reply_save(actor=staff["listener2_tsu"], thread=thread, body="x", submit=False)


def test_nothing_unapproved_is_ever_visible_to_the_child(
    send: Callable[..., services.Sent], staff: dict[str, User]
) -> None:
    sent = send(body="はじめての手紙")
    thread = sent.thread
    services.thread_claim(actor=staff["listener_tsu"], thread=thread)

    def child_sees() -> list[str]:
        opened = services.thread_unlock(number=thread.number, secret=sent.secret)
        return [letter.body or "" for letter in selectors.letters_for_child(opened)]

    services.reply_save(actor=staff["listener_tsu"], thread=thread, body="下書き1", submit=False)
    assert child_sees() == ["はじめての手紙"]
    reply = services.reply_save(
        actor=staff["listener_tsu"], thread=thread, body="承認待ち", submit=True
    )
    assert child_sees() == ["はじめての手紙"]
    services.reply_review(
        actor=staff["supervisor_suzuka"], reply=reply, approve=False, comment="もう少しやさしく"
    )
    assert child_sees() == ["はじめての手紙"]
    reply = services.reply_save(
        actor=staff["listener_tsu"], thread=thread, body="やさしい返事", submit=True
    )
    assert child_sees() == ["はじめての手紙"]
    services.reply_review(actor=staff["supervisor_suzuka"], reply=reply, approve=True)
    assert child_sees() == ["はじめての手紙", "やさしい返事"]
    # The child writes again; a new draft stays hidden again.
    services.letter_add(thread=thread, body="ありがとう")
    services.reply_save(actor=staff["listener_tsu"], thread=thread, body="次の下書き", submit=True)
    assert child_sees() == ["はじめての手紙", "やさしい返事", "ありがとう"]


def test_a_supervisor_may_edit_before_approving(
    send: Callable[..., services.Sent], staff: dict[str, User]
) -> None:
    thread, reply = _claimed_with_reply(send, staff, body="返事です")
    services.reply_review(
        actor=staff["supervisor_suzuka"], reply=reply, approve=True, body="直した返事です"
    )
    assert [letter.body for letter in selectors.letters_for_child(thread)][-1] == "直した返事です"
    assert AuditEntry.objects.filter(action="letter.reply_approved", data__edited=True).exists()


@pytest.mark.parametrize(
    "who",
    [
        "listener_tsu",
        "listener2_tsu",
        "supporter_tsu",
        "secretariat",
        "government",
        "coordinator_tsu",
    ],
)
def test_who_may_not_approve(
    send: Callable[..., services.Sent], staff: dict[str, User], who: str
) -> None:
    _thread, reply = _claimed_with_reply(send, staff)
    with pytest.raises(services.MailError):
        services.reply_review(actor=staff[who], reply=reply, approve=True)
    reply.refresh_from_db()
    assert reply.state == ReplyState.SUBMITTED


def test_a_supervisor_of_a_site_that_does_not_answer_letters_may_not_approve(
    send: Callable[..., services.Sent],
    staff: dict[str, User],
    make_staff: Callable[..., User],
    network: dict[str, Any],
) -> None:
    from uketome.accounts.roles import Role

    network["ise"] = __import__("uketome.network.models", fromlist=["Site"]).Site.objects.get(
        slug="ise"
    )
    outsider = make_staff(Role.SUPERVISOR, "ise", "supervisor_ise")
    _thread, reply = _claimed_with_reply(send, staff)
    with pytest.raises(services.MailError):
        services.reply_review(actor=outsider, reply=reply, approve=True)


def test_supporters_approve_where_the_line_allows_it(
    send: Callable[..., services.Sent], staff: dict[str, User], mail_settings: MailSettings
) -> None:
    mail_settings.supporters_may_approve = True
    mail_settings.save()
    _thread, reply = _claimed_with_reply(send, staff)
    services.reply_review(actor=staff["supporter_tsu"], reply=reply, approve=True)
    reply.refresh_from_db()
    assert reply.state == ReplyState.APPROVED


def test_nobody_approves_their_own_reply(
    send: Callable[..., services.Sent], staff: dict[str, User]
) -> None:
    thread = send().thread
    services.thread_claim(actor=staff["supervisor_tsu"], thread=thread)
    reply = services.reply_save(actor=staff["supervisor_tsu"], thread=thread, body="x", submit=True)
    with pytest.raises(services.MailError):
        services.reply_review(actor=staff["supervisor_tsu"], reply=reply, approve=True)
    services.reply_review(actor=staff["supervisor_suzuka"], reply=reply, approve=True)


def test_returning_needs_a_comment(
    send: Callable[..., services.Sent], staff: dict[str, User]
) -> None:
    _thread, reply = _claimed_with_reply(send, staff)
    with pytest.raises(services.MailError) as error:
        services.reply_review(actor=staff["supervisor_suzuka"], reply=reply, approve=False)
    assert error.value.field == "comment"


def test_the_thread_waits_again_when_the_child_writes_after_the_reply(
    send: Callable[..., services.Sent], staff: dict[str, User]
) -> None:
    thread, reply = _claimed_with_reply(send, staff)
    services.reply_review(actor=staff["supervisor_suzuka"], reply=reply, approve=True)
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.ANSWERED and thread.waiting_since is None
    services.letter_add(thread=thread, body="もう一度書きます")
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.WAITING and thread.waiting_since is not None
    assert thread.claimed_by == staff["listener_tsu"]


def test_a_letter_written_while_the_reply_waits_keeps_the_thread_waiting(
    send: Callable[..., services.Sent], staff: dict[str, User]
) -> None:
    thread, reply = _claimed_with_reply(send, staff)
    services.letter_add(thread=thread, body="まだ書きたいことがある")
    services.reply_review(actor=staff["supervisor_suzuka"], reply=reply, approve=True)
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.WAITING


def test_finishing_makes_one_mail_contact_and_deletes_the_address(
    send: Callable[..., services.Sent], staff: dict[str, User], mail_settings: MailSettings
) -> None:
    mail_settings.notification_allowed = True
    mail_settings.save()
    sent = send(
        notify_address="child@example.com",
        age_band="junior_high",
        gender="girl",
        topics=("bullying",),
    )
    thread = sent.thread
    services.thread_claim(actor=staff["listener_tsu"], thread=thread)
    reply = services.reply_save(
        actor=staff["listener_tsu"], thread=thread, body="返事", submit=True
    )
    services.reply_review(actor=staff["supervisor_suzuka"], reply=reply, approve=True)
    contact = services.thread_finish(
        actor=staff["listener_tsu"], thread=thread, summary="いじめの相談"
    )
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.CLOSED and thread.notify_address is None
    assert thread.contact == contact
    assert contact.channel == "mail" and contact.source_kind == "letter"
    assert contact.source_id == thread.pk and contact.listener == staff["listener_tsu"]
    assert contact.site.slug == "tsu"  # type: ignore[union-attr]
    assert contact.age_band.code == "junior_high"
    assert list(contact.topics.values_list("code", flat=True)) == ["bullying"]
    assert Contact.objects.count() == 1
    with pytest.raises(services.MailError):
        services.letter_add(thread=thread, body="また書けますか")
    # The child can still read what was approved.
    opened = services.thread_unlock(number=thread.number, secret=sent.secret)
    assert len(selectors.letters_for_child(opened)) == 2


def test_a_reply_waiting_for_approval_blocks_finishing(
    send: Callable[..., services.Sent], staff: dict[str, User]
) -> None:
    thread, _reply = _claimed_with_reply(send, staff)
    with pytest.raises(services.MailError):
        services.thread_finish(actor=staff["listener_tsu"], thread=thread)


def test_an_approved_reply_sends_a_note_without_content(
    send: Callable[..., services.Sent],
    staff: dict[str, User],
    mail_settings: MailSettings,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    mail_settings.notification_allowed = True
    mail_settings.save()
    sent = send(body="ないしょの話", notify_address="child@example.com")
    services.thread_claim(actor=staff["listener_tsu"], thread=sent.thread)
    reply = services.reply_save(
        actor=staff["listener_tsu"], thread=sent.thread, body="返事の中身", submit=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_review(actor=staff["supervisor_suzuka"], reply=reply, approve=True)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["child@example.com"]
    for secret_thing in ("返事の中身", "ないしょ", sent.thread.number, sent.secret):
        assert secret_thing not in message.body and secret_thing not in message.subject


# --- Risk -----------------------------------------------------------------------------


def test_a_letter_at_risk_alerts_the_supervisors_and_waits_at_the_top(
    send: Callable[..., services.Sent],
    staff: dict[str, User],
    network: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    published: list[tuple[str, str, dict[str, Any]]] = []
    monkeypatch.setattr(
        "uketome.core.events._send",
        lambda group, message: published.append((group, message["event"], message["payload"])),
    )
    older = send(body="部活がつらい").thread
    LetterThread.objects.filter(pk=older.pk).update(
        waiting_since=timezone.now() - timedelta(days=2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        urgent = send(body="もう、しにたい").thread
    groups = {group for group, _event, _payload in published}
    assert groups == {
        f"supervisors.site.{network['tsu'].pk}",
        f"supervisors.site.{network['suzuka'].pk}",
    }
    assert {event for _g, event, _p in published} == {"mail.letter_at_risk"}
    payload = published[0][2]
    assert payload["letter"] == urgent.pk and payload["url"] == f"/staff/mail/{urgent.pk}/"
    assert "しにたい" not in str(payload)
    queue = selectors.waiting_queue(staff["listener_tsu"], timezone.now())
    assert [row.thread.pk for row in queue] == [urgent.pk, older.pk]
    assert queue[0].thread.risk_level.code == "urgent"  # type: ignore[union-attr]
    assert Escalation.objects.count() == 0  # the contact record's escalation comes at the end


def test_a_letter_without_risk_alerts_nobody(
    send: Callable[..., services.Sent],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    published: list[Any] = []
    monkeypatch.setattr("uketome.core.events._send", lambda *args: published.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        send(body="ねむれない夜がある")
    assert published == []


def test_a_failing_triage_never_loses_the_letter(
    send: Callable[..., services.Sent], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str) -> Any:
        raise RuntimeError("lexicon missing")

    monkeypatch.setattr(services, "assess", broken)
    thread = send(body="とどいてほしい").thread
    assert Letter.objects.get(thread=thread).body == "とどいてほしい"


def test_overdue_letters_stand_out(
    send: Callable[..., services.Sent], staff: dict[str, User]
) -> None:
    late = send().thread
    LetterThread.objects.filter(pk=late.pk).update(
        waiting_since=timezone.now() - timedelta(hours=73)
    )
    fresh = send().thread
    rows = {
        row.thread.pk: row for row in selectors.waiting_queue(staff["listener_tsu"], timezone.now())
    }
    assert rows[late.pk].overdue and not rows[fresh.pk].overdue
    assert rows[fresh.pk].due_at is not None


def test_letters_record_the_risk_of_each_letter(send: Callable[..., services.Sent]) -> None:
    thread = send(body="なぐられるのがこわい").thread
    services.letter_add(thread=thread, body="今日はだいじょうぶ")
    letters = list(Letter.objects.filter(thread=thread, author=Author.CHILD).order_by("id"))
    assert [letter.risk_level.code for letter in letters] == ["high", "none"]  # type: ignore[union-attr]
    thread.refresh_from_db()
    assert thread.risk_level.code == "high"  # type: ignore[union-attr]


def test_retention_removes_old_letters_text_and_keeps_the_rest(
    send: Callable[..., services.Sent], mail_line: Any
) -> None:
    old = send(body="むかしの手紙").thread
    recent = send(body="きのうの手紙").thread
    long_ago = timezone.now() - timedelta(days=mail_line.retention_days + 1)
    LetterThread.objects.filter(pk=old.pk).update(created_at=long_ago)
    Letter.objects.filter(thread=old).update(created_at=long_ago)
    assert services.letters_retention_run(dry_run=True) == {"mail": 1}
    assert Letter.objects.get(thread=old).body == "むかしの手紙"
    assert services.letters_retention_run() == {"mail": 1}
    assert Letter.objects.get(thread=old).body is None
    assert Letter.objects.get(thread=recent).body == "きのうの手紙"
    assert LetterThread.objects.filter(pk=old.pk).exists()
    assert services.letters_retention_run() == {"mail": 0}
