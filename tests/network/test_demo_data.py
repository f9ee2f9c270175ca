"""The demo data: the seed's network, about 570 volunteers, one login per role."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import current_code
from uketome.accounts.demo import DEMO_LOGINS
from uketome.accounts.models import Membership, User
from uketome.accounts.roles import SITE_ROLES
from uketome.network.models import CollaborativeProject, Organization, Site


@pytest.fixture
def demo(db: Any, settings: Any) -> Path:
    with override_settings(DEBUG=True):
        call_command("load_demo", contacts=300, stdout=io.StringIO())
    return Path(settings.DATA_DIR)


def test_network_from_the_seed(demo: Path) -> None:
    signatories = Organization.objects.filter(is_signatory=True)
    # The seed's 16 lines of signatories name 18 organizations (two lines hold two).
    assert signatories.count() == 18
    assert signatories.filter(kind="government").count() == 4
    assert Organization.objects.filter(is_member=True).count() == 9
    assert Organization.objects.get(is_operator=True).name.endswith(
        "チャイルドヘルプラインMIEネットワーク"
    )
    assert list(Site.objects.values_list("name", flat=True)) == [
        "四日市北部・川越・朝日",
        "四日市中南部・菟野",
        "鈴鹿",
        "津",
        "松阪",
        "伊勢",
        "熊野",
    ]
    assert CollaborativeProject.objects.count() == 9
    assert CollaborativeProject.objects.get(number=5).name == "こどもほっとダイヤル"


def test_about_570_volunteers_over_seven_sites(demo: Path) -> None:
    volunteers = Membership.objects.filter(role__in=sorted(SITE_ROLES))
    assert 560 <= volunteers.count() <= 580
    per_site = {s.name: volunteers.filter(site=s).count() for s in Site.objects.all()}
    assert all(count >= 40 for count in per_site.values()), per_site
    # Faker ja_JP names: varied, written in kanji, the full names nearly all different.
    family_names = set(User.objects.values_list("last_name", flat=True))
    assert len(family_names) >= 40
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in family_names)
    demo_volunteers = User.objects.filter(username__startswith="v-")
    full_names = set(demo_volunteers.values_list("last_name", "first_name"))
    assert len(full_names) == demo_volunteers.count()


def test_loading_again_changes_nothing(demo: Path) -> None:
    users = User.objects.count()
    passwords = json.loads((demo / "demo-logins.json").read_text())
    with override_settings(DEBUG=True):
        call_command("load_demo", contacts=300, stdout=io.StringIO())
    assert User.objects.count() == users
    assert json.loads((demo / "demo-logins.json").read_text()) == passwords
    assert Organization.objects.filter(is_signatory=True).count() == 18


def test_every_demo_login_signs_in_and_sees_its_role(demo: Path) -> None:
    passwords = json.loads((demo / "demo-logins.json").read_text())
    for username, role, _site in DEMO_LOGINS:
        client = Client()
        response = client.post(
            reverse("accounts:login"), {"username": username, "password": passwords[username]}
        )
        assert response.status_code == 302, username
        user = User.objects.get(username=username)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if user.needs_two_factor:
            assert device is not None, username
            client.post(reverse("accounts:two_factor"), {"token": current_code(device)})
        else:
            assert device is None
        page = client.get("/staff/").content.decode()
        assert str(role.label) in page, username


def test_demo_refuses_outside_demo_mode(db: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="UKETOME_DEBUG"):
        call_command("load_demo")
