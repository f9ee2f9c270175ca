"""The secretariat edits the directory in the admin: audited, searchable, by the rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from uketome.accounts.models import User
from uketome.core.audit import audit_verify
from uketome.core.models import AuditEntry
from uketome.resources.models import Resource

ADMIN = "/staff/admin/resources/resource/"


def form_data(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "みえ子ども相談室",
        "kana": "ミエコドモソウダンシツ",  # katakana: stored as hiragana
        "municipality": "津市　",
        "topics": ["bullying", "mind"],
        "for_whom": "children",
        "phone": "０５９－０００－００００",
        "phone_hours": "平日 9時から17時",
        "url": "example.org/soudan",
        "description": "なんでも話してね。",
        "published": "on",
        "sort_order": "50",
        "checked_on": "",
    }
    data.update(changes)
    return data


def test_secretariat_adds_a_place_and_it_is_audited(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    client = sign_in(personas["secretariat"])
    assert client.get(f"{ADMIN}add/").status_code == 200
    response = client.post(f"{ADMIN}add/", form_data())
    assert response.status_code == 302, response.content.decode()[:3000]
    resource = Resource.objects.get()
    assert resource.kana == "みえこどもそうだんしつ"
    assert resource.municipality == "津市"
    assert resource.phone == "059-000-0000"
    assert resource.url == "https://example.org/soudan"
    assert resource.topic_codes() == ["bullying", "mind"]
    assert "みえこどもそうだんしつ" in resource.search
    entry = AuditEntry.objects.filter(action="admin.added").get()
    assert entry.actor_label == "secretariat"
    assert entry.target_type == "resources.resource"
    assert entry.target_id == str(resource.pk)
    assert audit_verify().ok


def test_secretariat_edits_a_place_and_it_is_audited(
    personas: dict[str, User], sign_in: Callable[..., Client], put: Callable[..., Resource]
) -> None:
    resource = put("みえ子ども相談室", kana="みえこどもそうだんしつ", topics=["bullying"])
    client = sign_in(personas["secretariat"])
    url = f"{ADMIN}{resource.pk}/change/"
    page = client.get(url).content.decode()
    checked = re.findall(r'<input type="checkbox" name="topics" value="(\w+)"[^>]* checked', page)
    assert checked == ["bullying"]
    response = client.post(url, form_data(name="みえ子ども相談室（新）", topics=["lgbtq"]))
    assert response.status_code == 302, response.content.decode()[:3000]
    resource.refresh_from_db()
    assert resource.name == "みえ子ども相談室（新）"
    assert resource.topic_codes() == ["lgbtq"]
    # The search key follows the new name and topics.
    assert "(新)" in resource.search
    assert "いじめ" not in resource.search
    entry = AuditEntry.objects.filter(action="admin.changed").get()
    assert entry.actor_label == "secretariat"
    assert entry.target_id == str(resource.pk)
    assert "name" in entry.data["fields"] and "topics" in entry.data["fields"]


def test_secretariat_deletes_a_place_and_it_is_audited(
    personas: dict[str, User], sign_in: Callable[..., Client], put: Callable[..., Resource]
) -> None:
    resource = put("消える相談室", topics=["mind"])
    client = sign_in(personas["secretariat"])
    response = client.post(f"{ADMIN}{resource.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Resource.objects.exists()
    entry = AuditEntry.objects.filter(action="admin.deleted").get()
    assert entry.target_id == str(resource.pk)


def test_admin_refuses_bad_input_with_a_message(
    personas: dict[str, User], sign_in: Callable[..., Client], put: Callable[..., Resource]
) -> None:
    put("みえ子ども相談室", municipality="津市")
    client = sign_in(personas["secretariat"])
    for bad in [
        {"kana": "漢字のよみ"},
        {"phone": "電話してね"},
        {"url": "javascript:alert(1)"},
        {"topics": ["no-such-topic"]},
        {"for_whom": "pets"},
        {},  # the same name in the same town
    ]:
        response = client.post(f"{ADMIN}add/", form_data(**bad))
        assert response.status_code == 200, bad
        assert "errorlist" in response.content.decode(), bad
    assert Resource.objects.count() == 1
    assert not AuditEntry.objects.filter(action="admin.added").exists()


def test_admin_search_folds_kana_and_width(
    personas: dict[str, User], sign_in: Callable[..., Client], put: Callable[..., Resource]
) -> None:
    put("北勢児童相談所", kana="ほくせいじどうそうだんじょ")
    put("三重ダルク", kana="みえだるく")
    client = sign_in(personas["secretariat"])
    page = client.get(ADMIN, {"q": "ﾎｸｾｲ"}).content.decode()
    assert "北勢児童相談所" in page and "三重ダルク" not in page


def test_the_directory_is_on_the_admin_index_for_the_secretariat(
    personas: dict[str, User], sign_in: Callable[..., Client], put: Callable[..., Resource]
) -> None:
    put("三重ダルク", topics=["addiction"])
    for name in ["secretariat", "sysadmin"]:
        client = sign_in(personas[name])
        assert ADMIN in client.get("/staff/admin/").content.decode(), name
        page = client.get(ADMIN).content.decode()
        assert "三重ダルク" in page and ("依存" in page or "Addiction" in page)


@pytest.mark.parametrize(
    "name", ["listener_tsu", "supervisor_suzuka", "coordinator_tsu", "government", "fostercare"]
)
def test_other_roles_cannot_reach_the_directory_admin(
    personas: dict[str, User],
    sign_in: Callable[..., Client],
    put: Callable[..., Resource],
    name: str,
) -> None:
    resource = put("三重ダルク")
    client = sign_in(personas[name])
    assert client.get(ADMIN).status_code == 404
    assert client.post(f"{ADMIN}add/", form_data()).status_code == 404
    assert client.post(f"{ADMIN}{resource.pk}/change/", form_data()).status_code == 404
    assert Resource.objects.get().name == "三重ダルク"


RULES = [
    "resources.view_resource",
    "resources.add_resource",
    "resources.change_resource",
    "resources.delete_resource",
]


@pytest.mark.parametrize("rule", RULES)
def test_rules_give_the_directory_to_the_secretariat_and_system_admins(
    personas: dict[str, User], rule: str
) -> None:
    for name, user in personas.items():
        assert user.has_perm(rule) is (name in {"secretariat", "sysadmin"}), f"{rule} {name}"
