"""The demo directory: enough entries, safe to load again, and no guessed phone numbers."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.test import Client

from uketome.core.models import AuditEntry
from uketome.resources.demo import demo_data, load_resources
from uketome.resources.models import Resource, Topic
from uketome.resources.selectors import resource_directory

# The only numbers the demo may give: national ones, well known and checked.
NATIONAL_NUMBERS = {
    "110",
    "119",
    "189",
    "0120-0-78310",
    "0120-007-110",
    "0120-279-338",
    "#8891",
    "#8103",
    "#9110",
    "#8000",
}


SEED_NPOS = ["フリースクール三重シュール", "CAPみえ", "三重いのちの電話協会", "三重ダルク"]


def test_the_demo_has_at_least_15_published_places(db: Any) -> None:
    loaded = load_resources()
    assert len(loaded) >= 15
    assert Resource.objects.filter(published=True).count() == len(demo_data()) >= 15
    names = set(Resource.objects.values_list("name", flat=True))
    for expected in [
        "フリースクール三重シュール",
        "CAPみえ",
        "三重いのちの電話協会",
        "三重ダルク",
        "三重県北勢児童相談所",
        "三重県中勢児童相談所",
        "三重県南勢志摩児童相談所",
        "三重県伊賀児童相談所",
        "三重県紀州児童相談所",
        "24時間子供SOSダイヤル",
    ]:
        assert expected in names, expected
    assert all(r.topic_codes() for r in Resource.objects.prefetch_related("topic_links"))


def test_loading_again_changes_nothing(db: Any) -> None:
    load_resources()
    rows = list(Resource.objects.order_by("pk").values())
    audit_entries = AuditEntry.objects.count()
    load_resources()
    assert list(Resource.objects.order_by("pk").values()) == rows
    assert AuditEntry.objects.count() == audit_entries


def test_no_local_phone_number_is_guessed(db: Any) -> None:
    load_resources()
    phones = set(Resource.objects.exclude(phone="").values_list("phone", flat=True))
    assert phones <= NATIONAL_NUMBERS
    local = Resource.objects.filter(
        Q(municipality__gt="")
        | Q(name__endswith="児童相談所")
        | Q(
            name__in=["フリースクール三重シュール", "CAPみえ", "三重いのちの電話協会", "三重ダルク"]
        )
    )
    assert local.count() >= 15
    assert set(local.values_list("phone", flat=True)) == {""}
    assert set(local.values_list("url", flat=True)) == {""}


def test_the_demo_is_searchable_and_filterable(db: Any, client: Client) -> None:
    load_resources()
    bullying = resource_directory(query="いじめ")
    assert "24時間子供SOSダイヤル" in {r.name for g in bullying.groups for r in g.resources}
    free_school = resource_directory(topic=Topic.FREE_SCHOOL)
    assert [r.name for g in free_school.groups for r in g.resources] == [
        "フリースクール三重シュール"
    ]
    # Towns in the secretariat's order (here north to south), not in code-point order.
    assert resource_directory().municipalities == ["四日市市", "鈴鹿市", "津市", "松阪市", "熊野市"]
    response = client.get("/resources/", {"municipality": "熊野市", "g": "none"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "こどもステーションくまの" in page and "津子どもNPOセンター" not in page
