"""A letter at high or urgent risk reaches the supervisors signed in, at once, through the
same live alerts as contacts - and only those of the sites that answer the line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from tests.conftest import run_async
from tests.factories import SiteFactory
from uketome.accounts.models import User
from uketome.accounts.roles import Role
from uketome.asgi import application
from uketome.helpline.models import Line
from uketome.mail.models import LetterThread


def _socket(client: Client) -> WebsocketCommunicator:
    cookie = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    return WebsocketCommunicator(
        application,
        "/ws/staff/alerts/",
        headers=[(b"cookie", cookie.encode()), (b"origin", b"http://testserver")],
    )


@pytest.mark.django_db(transaction=True)
def test_a_letter_at_risk_alerts_the_answering_sites_supervisors_at_once(
    mail_line: Line,
    network: dict[str, Any],
    personas: dict[str, User],
    make_staff: Callable[..., User],
    sign_in: Callable[..., Client],
) -> None:
    network["ise"] = SiteFactory(name="伊勢", slug="ise", organization=network["operator"])
    at_suzuka = sign_in(personas["supervisor_suzuka"])
    at_ise = sign_in(make_staff(Role.SUPERVISOR, "ise", "supervisor_ise"))
    child = Client()

    async def scenario() -> tuple[dict[str, Any], bool]:
        suzuka = _socket(at_suzuka)
        ise = _socket(at_ise)
        assert (await suzuka.connect())[0]
        assert (await ise.connect())[0]
        await sync_to_async(child.post)(
            "/mail/", {"line": mail_line.pk, "body": "もう、しにたい。たすけて"}
        )
        message = await suzuka.receive_json_from(timeout=5)
        nothing_at_ise = await ise.receive_nothing(timeout=0.5)
        await suzuka.disconnect()
        await ise.disconnect()
        return message, nothing_at_ise

    message, nothing_at_ise = run_async(scenario)
    thread = LetterThread.objects.get()
    assert message["event"] == "mail.letter_at_risk"
    assert message["letter"] == thread.pk
    assert message["url"] == f"/staff/mail/{thread.pk}/"
    # The banner links to <contact list><contact>/: this leads to the letter's page.
    assert message["url"] == f"/staff/mail/{thread.pk}/"
    assert message["rank"] == 3
    assert "しにたい" not in str(message)
    assert nothing_at_ise
