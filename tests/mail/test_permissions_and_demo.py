"""The letter rules agree object by object with their filters; the demo letters load."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from uketome.accounts.models import User
from uketome.core.permissions import approve_reply, claim_letter, finish_thread, view_letters
from uketome.helpline.demo import load_lines
from uketome.mail import selectors, services
from uketome.mail.demo import DEMO_NUMBER, DEMO_SECRET, load_mail
from uketome.mail.models import LetterThread, ThreadStatus

pytestmark = pytest.mark.django_db


def test_rules_and_filters_agree(
    send: Callable[..., services.Sent], staff: dict[str, User], mail_settings: Any
) -> None:
    waiting = send().thread
    taken = send().thread
    services.thread_claim(actor=staff["listener_tsu"], thread=taken)
    everyone = LetterThread.objects.all()
    for user in staff.values():
        for rule in (view_letters, claim_letter, approve_reply, finish_thread):
            allowed = set(rule.filter(user, everyone).values_list("pk", flat=True))
            tested = {t.pk for t in everyone if rule.test(user, t)}
            assert allowed == tested, (user.username, rule.name)
    # And who sees what, in words.
    assert set(selectors.threads_visible_to(staff["listener2_tsu"])) == {waiting}
    assert set(selectors.threads_visible_to(staff["listener_tsu"])) == {waiting, taken}
    assert set(selectors.threads_visible_to(staff["supervisor_suzuka"])) == {waiting, taken}
    assert set(selectors.threads_visible_to(staff["secretariat"])) == {waiting, taken}
    assert not selectors.threads_visible_to(staff["government"]).exists()


def test_a_line_answered_nowhere_shows_its_letters_to_no_listener(
    send: Callable[..., services.Sent], staff: dict[str, User], mail_settings: Any
) -> None:
    mail_settings.sites.clear()
    send()
    assert not selectors.threads_visible_to(staff["listener_tsu"]).exists()
    assert selectors.threads_visible_to(staff["secretariat"]).count() == 1


def test_the_demo_letters(network: dict[str, Any], personas: dict[str, User]) -> None:
    from uketome.accounts.models import User as UserModel

    UserModel.objects.filter(pk=personas["listener_tsu"].pk).update(username="listener")
    UserModel.objects.filter(pk=personas["supervisor_suzuka"].pk).update(username="supervisor")
    load_lines()
    count = load_mail()
    assert count == 4
    assert load_mail() == 4  # safe to run again
    assert LetterThread.objects.filter(status=ThreadStatus.WAITING).count() == 3
    answered = services.thread_unlock(number=DEMO_NUMBER, secret=DEMO_SECRET)
    assert answered.status == ThreadStatus.ANSWERED
    assert len(selectors.letters_for_child(answered)) == 2
    rows = selectors.waiting_queue(personas["supervisor_suzuka"], answered.updated_at)
    assert any(row.overdue for row in rows)


def test_the_secretariat_is_told_when_no_site_answers_a_line(
    mail_settings: Any, staff: dict[str, User], sign_in: Callable[..., Any]
) -> None:
    client = sign_in(staff["secretariat"])
    assert "notice" not in client.get("/staff/mail/").content.decode()
    mail_settings.sites.clear()
    assert mail_settings.line.name in client.get("/staff/mail/").content.decode()
