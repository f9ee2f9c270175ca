"""Escalation: supervisors signed in are alerted live; they record the decision; open
escalations past their time limit stand out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from tests.conftest import run_async
from uketome.accounts.models import User
from uketome.asgi import application
from uketome.core.models import AuditEntry
from uketome.helpline.models import Contact, Escalation


def _cookie_headers(client: Client) -> list[tuple[bytes, bytes]]:
    cookie = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    return [(b"cookie", cookie.encode()), (b"origin", b"http://testserver")]


async def _connect(client: Client) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, "/ws/staff/alerts/", headers=_cookie_headers(client)
    )
    return communicator


@pytest.mark.django_db(transaction=True)
def test_supervisors_at_the_site_are_alerted_at_once(
    personas: dict[str, User],
    sign_in: Callable[..., Client],
    recorded: Callable[..., Contact],
    make_staff: Any,
) -> None:
    from uketome.accounts.roles import Role

    supervisor_tsu = make_staff(Role.SUPERVISOR, "tsu", "supervisor_tsu")
    at_tsu = sign_in(supervisor_tsu)
    at_suzuka = sign_in(personas["supervisor_suzuka"])
    listener = sign_in(personas["listener_tsu"])

    async def scenario() -> tuple[dict[str, Any], bool, tuple[bool, Any]]:
        tsu_socket = await _connect(at_tsu)
        suzuka_socket = await _connect(at_suzuka)
        listener_socket = await _connect(listener)
        assert (await tsu_socket.connect())[0]
        assert (await suzuka_socket.connect())[0]
        refused = await listener_socket.connect()
        await sync_to_async(recorded)(by="listener_tsu", risk="urgent")
        message = await tsu_socket.receive_json_from(timeout=5)
        nothing_at_suzuka = await suzuka_socket.receive_nothing(timeout=0.5)
        await tsu_socket.disconnect()
        await suzuka_socket.disconnect()
        return message, nothing_at_suzuka, refused

    message, nothing_at_suzuka, refused = run_async(scenario)
    contact = Contact.objects.get()
    assert message["event"] == "escalation.raised"
    assert message["contact"] == contact.pk
    assert message["risk"] == "緊急"
    assert nothing_at_suzuka
    assert refused[0] is False  # a listener does not get supervisor alerts


@pytest.mark.django_db(transaction=True)
def test_alerts_need_a_verified_second_factor(personas: dict[str, User]) -> None:
    from django.urls import reverse

    from tests.conftest import PASSWORD

    password_only = Client()
    password_only.post(
        reverse("accounts:login"),
        {"username": "supervisor_suzuka", "password": PASSWORD},
    )

    async def scenario() -> bool:
        socket = await _connect(password_only)
        connected, _code = await socket.connect()
        return bool(connected)

    assert run_async(scenario) is False


def test_supervisor_records_the_decision(
    personas: dict[str, User],
    sign_in: Callable[..., Client],
    recorded: Callable[..., Contact],
) -> None:
    contact = recorded(by="listener_tsu", site="suzuka", risk="high")
    escalation = Escalation.objects.get(contact=contact)
    supervisor = sign_in(personas["supervisor_suzuka"])
    page = supervisor.get("/staff/contacts/escalations/").content.decode()
    assert f"/staff/contacts/{contact.pk}/" in page
    url = f"/staff/contacts/escalations/{escalation.pk}/"
    bad = supervisor.post(url, {"to_whom": "北勢児童相談所"})
    assert bad.status_code == 400
    assert "判断した内容を選んでください" in bad.content.decode()
    assert "北勢児童相談所" in bad.content.decode()
    response = supervisor.post(
        url, {"action": _action_pk("notify_child_guidance_centre"), "to_whom": "北勢児童相談所"}
    )
    assert response.status_code == 302
    escalation.refresh_from_db()
    assert escalation.status == "decided"
    assert escalation.decided_by == personas["supervisor_suzuka"]
    assert escalation.action.code == "notify_child_guidance_centre"  # type: ignore[union-attr]
    assert AuditEntry.objects.filter(action="escalation.decided").exists()
    assert (
        f"/staff/contacts/{contact.pk}/"
        not in supervisor.get("/staff/contacts/escalations/").content.decode()
    )


def _action_pk(code: str) -> int:
    from uketome.helpline.models import TaxonomyTerm

    return TaxonomyTerm.objects.get(
        kind="escalation_action", code=code, version__is_current=True
    ).pk


def test_only_supervisors_of_the_site_decide(
    personas: dict[str, User],
    sign_in: Callable[..., Client],
    recorded: Callable[..., Contact],
) -> None:
    contact = recorded(by="listener_tsu", site="tsu", risk="high")
    escalation = Escalation.objects.get(contact=contact)
    for persona in ("supervisor_suzuka", "listener_tsu", "secretariat", "government"):
        client = sign_in(personas[persona])
        response = client.post(
            f"/staff/contacts/escalations/{escalation.pk}/",
            {"action": _action_pk("monitor")},
        )
        assert response.status_code == 404, persona
    escalation.refresh_from_db()
    assert escalation.status == "open"


def test_overdue_escalations_stand_out(
    personas: dict[str, User],
    sign_in: Callable[..., Client],
    recorded: Callable[..., Contact],
) -> None:
    late = recorded(by="listener_tsu", site="suzuka", risk="urgent")
    fresh = recorded(by="listener_tsu", site="suzuka", risk="high")
    Escalation.objects.filter(contact=late).update(raised_at=timezone.now() - timedelta(minutes=45))
    page = sign_in(personas["supervisor_suzuka"]).get("/staff/contacts/escalations/")
    rows = page.content.decode().split("<tbody>")[1].split("</tr>")
    late_row = next(r for r in rows if f"/staff/contacts/{late.pk}/" in r)
    fresh_row = next(r for r in rows if f"/staff/contacts/{fresh.pk}/" in r)
    assert "overdue" in late_row and "期限超過" in late_row
    assert "overdue" not in fresh_row
    # Urgent first.
    assert rows.index(late_row) < rows.index(fresh_row)
