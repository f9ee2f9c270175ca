"""The children's letter pages and the staff pages, through HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import signing
from django.test import Client
from django.utils.html import escape

from tests.mail.conftest import ja
from uketome.accounts.models import User
from uketome.core.models import AuditEntry
from uketome.helpline.models import Line
from uketome.mail import services, views
from uketome.mail.models import Letter, LetterThread, ReplyState, ThreadStatus

pytestmark = pytest.mark.django_db

WRITE = "/mail/?g=none"
READ = "/mail/read/?g=none"
AGAIN = "/mail/write-again/?g=none"


def _sent_from_page(html: str) -> tuple[str, str]:
    number = re.search(r'id="letter-number">([^<]+)<', html)
    secret = re.search(r'id="letter-secret">([^<]+)<', html)
    assert number and secret, html[:2000]
    return number.group(1), secret.group(1)


def _post_letter(client: Client, line: Line, body: str, **extra: Any) -> Any:
    return client.post(WRITE, {"line": line.pk, "body": body, **extra})


# --- Writing --------------------------------------------------------------------------


def test_the_letter_page_sets_no_cookie_and_loads_nothing_from_elsewhere(
    client: Client, mail_line: Line
) -> None:
    response = client.get(WRITE)
    assert response.status_code == 200
    assert not response.cookies
    html = response.content.decode()
    assert "<script>" not in html and "style=" not in html
    assert not re.search(r'src="https?://|<link[^>]+href="https?://', html)
    assert 'name="email"' not in html
    # Topic chips come from the taxonomy.
    assert 'value="bullying"' in html


def test_sending_shows_the_number_and_secret_once(client: Client, mail_line: Line) -> None:
    response = _post_letter(client, mail_line, "はじめて手紙を書きます。")
    assert response.status_code == 200
    assert not response.cookies
    assert response["Cache-Control"] == "no-store"
    number, secret = _sent_from_page(response.content.decode())
    thread = LetterThread.objects.get()
    assert number == thread.display_number
    assert services.thread_unlock(number=number, secret=secret) == thread


def test_the_letter_page_says_when_a_reply_comes(client: Client, mail_line: Line) -> None:
    html = _post_letter(client, mail_line, "いつ返事がきますか").content.decode()
    assert escape(ja("We try to reply within %(n)s days.", n=3)) in html


def test_an_empty_letter_keeps_the_rest_of_the_form(client: Client, mail_line: Line) -> None:
    response = _post_letter(client, mail_line, "  ", age_band="junior_high", topics=["bullying"])
    assert response.status_code == 400
    html = response.content.decode()
    assert escape(ja("Please write your letter.")) in html
    assert re.search(r'value="junior_high"\s+selected', html)
    assert re.search(r'value="bullying"\s+checked', html)
    assert LetterThread.objects.count() == 0


def test_an_oversized_letter_keeps_every_character_typed(client: Client, mail_line: Line) -> None:
    body = "ながい手紙" * 700
    response = _post_letter(client, mail_line, body)
    assert response.status_code == 400
    assert body in response.content.decode()
    assert LetterThread.objects.count() == 0


def test_html_in_a_letter_is_shown_as_text(client: Client, mail_line: Line) -> None:
    evil = '<script>alert("x")</script><b>太字</b>'
    number, secret = _sent_from_page(_post_letter(client, mail_line, evil).content.decode())
    html = client.post(READ, {"number": number, "secret": secret}).content.decode()
    assert "<script>alert" not in html and "<b>太字</b>" not in html
    assert escape(evil) in html


def test_a_flood_of_letters_is_slowed_and_keeps_the_text(client: Client, mail_line: Line) -> None:
    for n in range(views.SEND_LIMIT):
        assert _post_letter(client, mail_line, f"手紙{n}").status_code == 200
    response = _post_letter(client, mail_line, "まだ書きたい")
    assert response.status_code == 429
    assert "まだ書きたい" in response.content.decode()
    assert LetterThread.objects.count() == views.SEND_LIMIT


def test_a_post_from_another_site_is_refused(client: Client, mail_line: Line) -> None:
    response = client.post(
        WRITE, {"line": mail_line.pk, "body": "x"}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert LetterThread.objects.count() == 0


# --- Reading and writing again --------------------------------------------------------


def test_reading_shows_only_this_thread_and_never_in_the_address(
    client: Client, mail_line: Line, send: Callable[..., services.Sent]
) -> None:
    other = send(body="ほかの子の手紙")
    mine = send(body="わたしの手紙")
    page = client.get(READ).content.decode()
    assert 'method="post"' in page
    response = client.post(READ, {"number": mine.thread.number, "secret": mine.secret})
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert not response.cookies
    assert "わたしの手紙" in html and "ほかの子の手紙" not in html
    assert mine.secret not in html  # the page carries a token, never the secret
    assert other.secret not in html
    for action in re.findall(r'action="([^"]+)"', html):
        assert mine.thread.number not in action


def test_wrong_secret_and_unknown_number_get_the_same_page(
    client: Client, mail_line: Line, send: Callable[..., services.Sent]
) -> None:
    sent = send()
    wrong = client.post(READ, {"number": sent.thread.number, "secret": "ねこ ねこ"})
    unknown_number = "98765432" if sent.thread.number != "98765432" else "87654321"
    unknown = client.post(READ, {"number": unknown_number, "secret": "ねこ ねこ"})
    assert wrong.status_code == unknown.status_code == 400

    def without_input(html: str) -> str:
        return re.sub(r'value="[^"]*"', "", html)

    assert without_input(wrong.content.decode()) == without_input(unknown.content.decode())
    assert sent.thread.number in wrong.content.decode()  # what the child typed is kept


def test_the_number_locks_after_wrong_tries(
    client: Client, mail_line: Line, send: Callable[..., services.Sent]
) -> None:
    sent = send()
    for _ in range(services.LOCK_AFTER):
        client.post(READ, {"number": sent.thread.number, "secret": "ねこ"})
    response = client.post(READ, {"number": sent.thread.number, "secret": sent.secret})
    assert response.status_code == 400
    assert "mail-thread" not in response.content.decode()


def test_wrong_tries_are_limited_per_visitor_across_numbers(
    client: Client, mail_line: Line, send: Callable[..., services.Sent]
) -> None:
    sent = send()
    for n in range(views.WRONG_LIMIT):
        client.post(READ, {"number": f"{10000000 + n}", "secret": "ねこ"})
    response = client.post(READ, {"number": sent.thread.number, "secret": sent.secret})
    assert response.status_code == 400
    assert "mail-thread" not in response.content.decode()
    # Another visitor is not slowed down.
    other = Client(REMOTE_ADDR="10.9.9.9")
    assert (
        other.post(READ, {"number": sent.thread.number, "secret": sent.secret}).status_code == 200
    )


def test_writing_again_with_the_token(
    client: Client, mail_line: Line, send: Callable[..., services.Sent]
) -> None:
    sent = send(body="最初の手紙")
    html = client.post(READ, {"number": sent.thread.number, "secret": sent.secret}).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', html)
    assert token
    ref = re.search(r'name="client_ref" value="([^"]+)"', html)
    assert ref
    form = {"token": token.group(1), "client_ref": ref.group(1), "body": "もう一通"}
    response = client.post(AGAIN, form)
    assert response.status_code == 200
    # Sent twice (a double click, a reload): stored once.
    assert client.post(AGAIN, form).status_code == 200
    assert "もう一通" in response.content.decode()
    assert (
        escape(ja("Your letter was sent. Thank you for writing to us."))
        in response.content.decode()
    )
    assert Letter.objects.filter(thread=sent.thread).count() == 2


def test_a_forged_or_expired_token_asks_for_the_secret_and_keeps_the_letter(
    client: Client,
    mail_line: Line,
    send: Callable[..., services.Sent],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = send()
    forged = signing.TimestampSigner(salt="something else").sign_object({"t": sent.thread.pk})
    response = client.post(AGAIN, {"token": forged, "body": "消えないで"})
    assert response.status_code == 400
    assert "消えないで" in response.content.decode()
    assert Letter.objects.filter(thread=sent.thread).count() == 1
    # Expired: older than TOKEN_MINUTES.
    real = views._token_for(sent.thread)
    monkeypatch.setattr(views, "TOKEN_MINUTES", -1)
    assert client.post(AGAIN, {"token": real, "body": "x"}).status_code == 400
    monkeypatch.setattr(views, "TOKEN_MINUTES", 60)
    # With the number and secret again, the letter is sent.
    response = client.post(
        AGAIN, {"number": sent.thread.number, "secret": sent.secret, "body": "消えないで"}
    )
    assert response.status_code == 200
    assert Letter.objects.filter(thread=sent.thread).count() == 2


def test_writing_again_empty_keeps_the_thread_on_screen(
    client: Client, mail_line: Line, send: Callable[..., services.Sent]
) -> None:
    sent = send(body="最初の手紙")
    response = client.post(AGAIN, {"token": views._token_for(sent.thread), "body": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "最初の手紙" in html and escape(ja("Please write your letter.")) in html


def test_the_child_sees_approved_replies_only(
    client: Client, mail_line: Line, send: Callable[..., services.Sent], staff: dict[str, User]
) -> None:
    sent = send()
    services.thread_claim(actor=staff["listener_tsu"], thread=sent.thread)
    reply = services.reply_save(
        actor=staff["listener_tsu"], thread=sent.thread, body="まだ見せない返事", submit=True
    )
    html = client.post(READ, {"number": sent.thread.number, "secret": sent.secret}).content.decode()
    assert "まだ見せない返事" not in html
    services.reply_review(actor=staff["supervisor_suzuka"], reply=reply, approve=True)
    html = client.post(READ, {"number": sent.thread.number, "secret": sent.secret}).content.decode()
    assert "まだ見せない返事" in html


# --- Staff ----------------------------------------------------------------------------


def test_the_queue_shows_waiting_letters_to_listeners_of_answering_sites(
    mail_line: Line,
    send: Callable[..., services.Sent],
    staff: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    sent = send(age_band="junior_high")
    html = sign_in(staff["listener_tsu"]).get("/staff/mail/").content.decode()
    assert sent.thread.display_number in html
    assert "中学生" in html
    assert "友だちのこと" not in html  # the queue shows no letter text


@pytest.mark.parametrize("who", ["government", "coordinator_tsu", "fostercare", "sysadmin"])
def test_people_without_letters_get_not_found(
    mail_line: Line,
    send: Callable[..., services.Sent],
    staff: dict[str, User],
    sign_in: Callable[..., Client],
    who: str,
) -> None:
    thread = send().thread
    client = sign_in(staff[who])
    assert client.get("/staff/mail/").status_code == 404
    assert client.get(f"/staff/mail/{thread.pk}/").status_code == 404
    assert AuditEntry.objects.filter(action="letter.read_denied", actor_id=staff[who].pk).exists()


def test_a_letter_taken_by_someone_else_is_not_found_for_another_listener(
    mail_line: Line,
    send: Callable[..., services.Sent],
    staff: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    thread = send().thread
    services.thread_claim(actor=staff["listener_tsu"], thread=thread)
    client = sign_in(staff["listener2_tsu"])
    assert client.get(f"/staff/mail/{thread.pk}/").status_code == 404
    # Clicking "take" a moment too late: told so, not "not found"; the letter stays taken.
    response = client.post(f"/staff/mail/{thread.pk}/claim/")
    assert response.status_code == 302 and response["Location"] == "/staff/mail/"
    thread.refresh_from_db()
    assert thread.claimed_by == staff["listener_tsu"]


def test_reading_a_letter_is_audited(
    mail_line: Line,
    send: Callable[..., services.Sent],
    staff: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    thread = send(body="読んだら記録される").thread
    response = sign_in(staff["supervisor_suzuka"]).get(f"/staff/mail/{thread.pk}/")
    assert "読んだら記録される" in response.content.decode()
    assert AuditEntry.objects.filter(
        action="letter.read", target_id=str(thread.pk), actor_id=staff["supervisor_suzuka"].pk
    ).exists()


def test_claim_draft_approve_finish_through_the_pages(
    mail_line: Line,
    send: Callable[..., services.Sent],
    staff: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    thread = send().thread
    listener = sign_in(staff["listener_tsu"])
    assert listener.post(f"/staff/mail/{thread.pk}/claim/").status_code == 302
    second = sign_in(staff["listener2_tsu"])
    assert second.post(f"/staff/mail/{thread.pk}/claim/").status_code == 302
    thread.refresh_from_db()
    assert thread.claimed_by == staff["listener_tsu"]
    listener.post(f"/staff/mail/{thread.pk}/reply/", {"body": "下書き", "action": "save"})
    assert Letter.objects.get(state=ReplyState.DRAFT).body == "下書き"
    listener.post(f"/staff/mail/{thread.pk}/reply/", {"body": "返事です", "action": "submit"})
    reply = Letter.objects.get(state=ReplyState.SUBMITTED)
    # The listener cannot approve.
    assert (
        listener.post(f"/staff/mail/{thread.pk}/review/", {"action": "approve"}).status_code == 404
    )
    supervisor = sign_in(staff["supervisor_suzuka"])
    page = supervisor.get(f"/staff/mail/{thread.pk}/").content.decode()
    assert 'value="approve"' in page
    response = supervisor.post(
        f"/staff/mail/{thread.pk}/review/",
        {"action": "approve", "body": "返事です。", "comment": ""},
    )
    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.state == ReplyState.APPROVED and reply.body == "返事です。"
    response = listener.post(f"/staff/mail/{thread.pk}/finish/", {"summary": "", "risk_level": ""})
    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.status == ThreadStatus.CLOSED and thread.contact is not None


def test_returning_without_a_comment_keeps_the_edited_reply(
    mail_line: Line,
    send: Callable[..., services.Sent],
    staff: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    thread = send().thread
    services.thread_claim(actor=staff["listener_tsu"], thread=thread)
    services.reply_save(actor=staff["listener_tsu"], thread=thread, body="返事", submit=True)
    response = sign_in(staff["supervisor_suzuka"]).post(
        f"/staff/mail/{thread.pk}/review/", {"action": "return", "body": "直しかけ", "comment": ""}
    )
    assert response.status_code == 400
    assert "直しかけ" in response.content.decode()


def test_the_staff_menu_shows_letters_to_listeners(
    mail_line: Line, staff: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    assert "/staff/mail/" in sign_in(staff["listener_tsu"]).get("/staff/").content.decode()
    assert "/staff/mail/" not in sign_in(staff["government"]).get("/staff/").content.decode()
