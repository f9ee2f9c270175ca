"""The directory's writes and helpers: search keys, put, phone and web links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from uketome.core.models import AuditEntry
from uketome.resources.models import Resource
from uketome.resources.selectors import search_terms
from uketome.resources.services import (
    clean_kana,
    clean_phone,
    resource_put,
    resource_search_key,
)


def test_search_key_folds_kana_width_and_case_and_keeps_parts_apart() -> None:
    key = resource_search_key(
        name="ＣＡＰ みえ", kana="キャップ", description="暴力から 守る", topics=["violence"]
    )
    lines = key.split("\n")
    assert "capみえ" in lines and "きゃっぷ" in lines and "暴力から守る" in lines
    assert "ぼうりょく" in lines  # a word of the topic
    assert "きゃっぷ暴力" not in key  # no match across two parts


def test_search_terms_split_on_any_space_and_are_capped() -> None:
    assert search_terms("　ｲｼﾞﾒ  学校 ") == ["いじめ", "学校"]
    assert search_terms("") == []
    assert len(search_terms(" ".join(f"w{n}" for n in range(50)))) == 10


def test_clean_helpers() -> None:
    assert clean_kana(" ミエ　ダルク ") == "みえ だるく"
    assert clean_phone("０１２０ー０ー７８３１０") == "0120-0-78310"


def test_put_creates_then_only_writes_changes(put: Callable[..., Resource]) -> None:
    first = put("三重ダルク", kana="みえだるく", topics=["addiction"])
    assert AuditEntry.objects.filter(action="resource.added").count() == 1
    again, changed = resource_put(
        actor=None, name="三重ダルク", kana="みえだるく", topics=["addiction"], published=True
    )
    assert again.pk == first.pk and not changed
    assert AuditEntry.objects.count() == 1
    _resource, changed = resource_put(
        actor=None, name="三重ダルク", kana="みえだるく", topics=["addiction", "mind"]
    )
    assert changed
    entry = AuditEntry.objects.filter(action="resource.changed").get()
    assert entry.data == {"fields": ["topics"]}


def test_put_refuses_bad_data(db: Any) -> None:
    with pytest.raises(ValueError):
        resource_put(actor=None, name="x", topics=["no-such-topic"])
    with pytest.raises(ValidationError):
        resource_put(actor=None, name="x", url="javascript:alert(1)")
    with pytest.raises(ValidationError):
        resource_put(actor=None, name="x", kana="漢字")
    with pytest.raises(TypeError):
        resource_put(actor=None, name="x", search="forged")
    assert not Resource.objects.exists()


@pytest.mark.parametrize(
    ("phone", "uri"),
    [
        ("189", "tel:189"),
        ("0120-0-78310", "tel:0120078310"),
        ("#9110", "tel:%239110"),
        ("+81 59-000-0000", "tel:+81590000000"),
        ("", ""),
    ],
)
def test_tel_uri(phone: str, uri: str) -> None:
    assert Resource(name="x", phone=phone).tel_uri == uri


def test_web_address_for_display() -> None:
    resource = Resource(name="x", url="https://www.example.org/a/")
    assert resource.safe_url == "https://www.example.org/a/"
    assert resource.display_url == "www.example.org/a"
    assert Resource(name="x", url="javascript:alert(1)").safe_url == ""
    assert Resource(name="x", url="data:text/html,x").display_url == ""
