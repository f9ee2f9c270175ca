"""What each role sees after signing in: its menu, the roster, the admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from uketome.accounts.models import User
from uketome.core.models import AuditEntry
from uketome.network.models import Organization

MENU = {
    "/staff/contacts/new/": "相談を記録する",
    "/staff/contacts/": "相談記録",
    "/staff/contacts/escalations/": "緊急対応",
    "/staff/network/": "ネットワーク",
    "/staff/roster/": "名簿",
    "/staff/core/audit/": "監査ログ",
    "/staff/admin/": "管理画面",
}

NEW, CONTACTS, ESCALATIONS = (
    "/staff/contacts/new/",
    "/staff/contacts/",
    "/staff/contacts/escalations/",
)
NETWORK, ROSTER, AUDIT, ADMIN = (
    "/staff/network/",
    "/staff/roster/",
    "/staff/core/audit/",
    "/staff/admin/",
)
EXPECTED_MENU = {
    "listener_tsu": {NETWORK, NEW, CONTACTS},
    "supporter_tsu": {NETWORK, NEW, CONTACTS, ESCALATIONS},
    "supervisor_suzuka": {NETWORK, ROSTER, NEW, CONTACTS, ESCALATIONS},
    "coordinator_tsu": {NETWORK, ROSTER},
    "secretariat": {NETWORK, ROSTER, AUDIT, ADMIN, CONTACTS, ESCALATIONS},
    "government": {NETWORK},
    "fostercare": {NETWORK, NEW, CONTACTS},
    "sysadmin": {NETWORK, ROSTER, AUDIT, ADMIN},
}


@pytest.mark.parametrize("persona", sorted(EXPECTED_MENU))
def test_each_role_sees_only_its_menu_and_reaches_only_those_pages(
    personas: dict[str, User], sign_in: Callable[..., Client], persona: str
) -> None:
    client = sign_in(personas[persona])
    home = client.get("/staff/")
    assert home.status_code == 200
    page = home.content.decode()
    shown = {path for path in MENU if f'href="{path}"' in page}
    assert shown == EXPECTED_MENU[persona]
    for path in MENU:
        status = client.get(path).status_code
        if path in EXPECTED_MENU[persona]:
            assert status == 200, path
        else:
            assert status == 404, path  # a page you may not see does not exist for you


def test_home_describes_the_role(personas: dict[str, User], sign_in: Callable[..., Client]) -> None:
    page = sign_in(personas["supervisor_suzuka"]).get("/staff/").content.decode()
    assert "スーパーバイザー" in page
    assert "エスカレーション" in page or "緊急対応" in page


def test_coordinator_roster_shows_own_site_only(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    page = sign_in(personas["coordinator_tsu"]).get("/staff/roster/").content.decode()
    assert "花子" in page
    assert personas["listener_tsu"].display_name in page
    assert personas["supervisor_suzuka"].display_name not in page
    assert "鈴鹿" not in page.split("<tbody>")[1]


def test_secretariat_edits_an_organization_in_the_admin_and_it_is_audited(
    personas: dict[str, User], sign_in: Callable[..., Client], network: dict[str, Any]
) -> None:
    client = sign_in(personas["secretariat"])
    government = network["government"]
    url = f"/staff/admin/network/organization/{government.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "name": "県子ども・福祉部 少子化対策課",
            "short_name": "",
            "kind": "government",
            "is_signatory": "on",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    government.refresh_from_db()
    assert government.name == "県子ども・福祉部 少子化対策課"
    entry = AuditEntry.objects.filter(action="admin.changed").get()
    assert entry.actor_label == "secretariat"
    assert entry.target_id == str(government.pk)


def test_admin_refuses_an_invalid_member_organization(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    """A government department cannot be a member organization: a clear message, no 500."""
    client = sign_in(personas["secretariat"])
    response = client.post(
        "/staff/admin/network/organization/add/",
        {"name": "県教育委員会", "kind": "government", "is_member": "on", "active": "on"},
    )
    assert response.status_code == 200
    assert "加盟団体は民間の団体です" in response.content.decode()
    assert not Organization.objects.filter(name="県教育委員会").exists()


def test_language_can_be_switched_to_english(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    client = sign_in(personas["government"])
    assert "ネットワーク" in client.get("/staff/").content.decode()
    client.post("/staff/language/", {"language": "en", "next": "/staff/"})
    page = client.get("/staff/").content.decode()
    assert '<html lang="en">' in page
    assert "Network" in page


def test_lost_phone_reset_in_the_admin(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    listener = personas["listener_tsu"]
    sign_in(listener)
    assert TOTPDevice.objects.filter(user=listener, confirmed=True).exists()
    admin = sign_in(personas["sysadmin"])
    response = admin.post(
        "/staff/admin/accounts/user/",
        {"action": "reset_two_factor", "_selected_action": [listener.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=listener).exists()
    entry = AuditEntry.objects.get(action="account.two_factor_reset")
    assert entry.actor_label == "sysadmin" and entry.target_id == str(listener.pk)
