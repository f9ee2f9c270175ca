"""Who sees which contact: every role x (own, same site, other site) x (list, detail,
export). What you may not see answers 404 and the attempt is audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from uketome.accounts.models import User
from uketome.core.models import AuditEntry
from uketome.helpline.models import Contact


@pytest.fixture
def three(recorded: Callable[..., Contact], make_staff: Any) -> dict[str, Contact]:
    """A contact of listener_tsu (own), one of another listener at 津 (same site),
    one at 鈴鹿 (other site)."""
    from uketome.accounts.roles import Role

    other_tsu = make_staff(Role.LISTENER, "tsu", "listener_tsu_2")
    at_suzuka = make_staff(Role.LISTENER, "suzuka", "listener_suzuka")
    personas_extra = {"listener_tsu_2": other_tsu, "listener_suzuka": at_suzuka}
    return {
        "own": recorded(by="listener_tsu", summary="OWN-SECRET"),
        "same_site": _record_for(recorded, personas_extra["listener_tsu_2"], "tsu"),
        "other_site": _record_for(recorded, personas_extra["listener_suzuka"], "suzuka"),
    }


def _record_for(recorded: Callable[..., Contact], user: User, site: str) -> Contact:
    contact = recorded(by="listener_tsu", site=site, summary=f"SECRET-{user.username}")
    Contact.objects.filter(pk=contact.pk).update(listener=user)
    return Contact.objects.get(pk=contact.pk)


# persona -> which of the three contacts it may see
SEES = {
    "listener_tsu": {"own"},
    "supporter_tsu": {"own", "same_site"},
    "coordinator_tsu": set(),
    "supervisor_suzuka": {"other_site"},
    "secretariat": {"own", "same_site", "other_site"},
    "government": set(),
    "fostercare": set(),
    "sysadmin": set(),
}
EXPORTS = {"secretariat"}
# Whose work includes contacts at all (the others get 404 for the list page itself).
LISTS = {"listener_tsu", "supporter_tsu", "supervisor_suzuka", "secretariat", "fostercare"}


@pytest.mark.parametrize("persona", sorted(SEES))
def test_list_detail_and_export_per_role(
    persona: str,
    three: dict[str, Contact],
    personas: dict[str, User],
    sign_in: Callable[..., Client],
) -> None:
    client = sign_in(personas[persona])
    allowed = SEES[persona]
    listing = client.get("/staff/contacts/")
    assert listing.status_code == (200 if persona in LISTS else 404), persona
    page = listing.content.decode()
    for name, contact in three.items():
        link = f'href="/staff/contacts/{contact.pk}/"'
        detail = client.get(f"/staff/contacts/{contact.pk}/")
        if name in allowed:
            assert link in page, (persona, name)
            assert detail.status_code == 200, (persona, name)
            assert contact.summary in detail.content.decode()
        else:
            assert link not in page, (persona, name)
            assert detail.status_code == 404, (persona, name)
    for fmt in ("csv", "xlsx"):
        response = client.get(f"/staff/contacts/export.{fmt}")
        assert response.status_code == (200 if persona in EXPORTS else 404), (persona, fmt)


def test_government_partner_reaches_no_contact_page(
    three: dict[str, Contact], personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    client = sign_in(personas["government"])
    for path in ["/staff/contacts/", "/staff/contacts/new/", "/staff/contacts/escalations/"]:
        assert client.get(path).status_code == 404, path
    assert client.get(f"/staff/contacts/{three['own'].pk}/").status_code == 404


def test_reading_is_audited_and_a_denied_read_too(
    three: dict[str, Contact], personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    client = sign_in(personas["listener_tsu"])
    client.get(f"/staff/contacts/{three['own'].pk}/")
    read = AuditEntry.objects.get(action="contact.read")
    assert read.actor_label == "listener_tsu" and read.target_id == str(three["own"].pk)
    response = client.get(f"/staff/contacts/{three['other_site'].pk}/")
    assert response.status_code == 404
    denied = AuditEntry.objects.get(action="contact.read_denied")
    assert denied.data == {"contact": three["other_site"].pk}
    # A contact that does not exist looks exactly the same.
    missing = client.get("/staff/contacts/999999/")
    assert missing.status_code == 404
    assert missing.content == response.content


def test_the_list_never_shows_narrative(
    three: dict[str, Contact], personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    page = sign_in(personas["secretariat"]).get("/staff/contacts/").content.decode()
    assert "SECRET" not in page
    assert not AuditEntry.objects.filter(action="contact.read").exists()
