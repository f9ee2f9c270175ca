"""Writes on the resource directory (相談できるところ).

The secretariat edits resources in the admin (``admin.ResourceAdmin``, audited by
``AuditedModelAdmin``); the demo loader and imports use ``resource_put``. Both end in
``resource_topics_set`` / ``resource_reindex``, which keep the search key up to date.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import translation

from uketome.core.audit import audit_record
from uketome.core.text import fold_kana, search_key
from uketome.resources.models import Resource, ResourceTopic, Topic

# Words a child may type for each topic (search only, never shown). The topic's Japanese
# label is added to these when the search key is made.
TOPIC_WORDS: dict[str, str] = {
    Topic.ANYTHING: "なんでも 何でも 相談 そうだん 話 はなし 悩み なやみ",
    Topic.CHILD_GUIDANCE: "児童相談所 じどうそうだんじょ 児相 じそう",
    Topic.ABUSE: "虐待 ぎゃくたい たたかれる 叩かれる なぐられる 殴られる ネグレクト",
    Topic.VIOLENCE: "暴力 ぼうりょく たたかれる なぐられる",
    Topic.BULLYING: "いじめ 無視 むし からかい",
    Topic.SCHOOL: "学校 がっこう 勉強 べんきょう 教育相談 きょういくそうだん 先生 せんせい",
    Topic.NOT_GOING_TO_SCHOOL: "不登校 ふとうこう 学校に行けない がっこうにいけない ひきこもり",
    Topic.FREE_SCHOOL: "フリースクール 居場所 いばしょ",
    Topic.SEXUAL_VIOLENCE: "性暴力 せいぼうりょく 性被害 せいひがい 痴漢 ちかん",
    Topic.LGBTQ: "LGBTQ LGBT 性的マイノリティ せいてきまいのりてぃ セクシュアリティ 性 せい",
    Topic.MIND: "心 こころ 気持ち きもち 悩み なやみ 不安 ふあん",
    Topic.SUICIDE: "死にたい しにたい 消えたい きえたい 自殺 じさつ 命 いのち 自傷 じしょう",
    Topic.ADDICTION: "依存 いぞん 薬物 やくぶつ くすり アルコール お酒 おさけ ゲーム",
    Topic.PLACE_TO_BE: "子ども食堂 こども食堂 こどもしょくどう 居場所 いばしょ 遊び場 あそびば",
    Topic.RIGHTS: "権利 けんり 人権 じんけん",
    Topic.POLICE: "警察 けいさつ",
    Topic.HEALTH: "医療 いりょう 病院 びょういん 体 からだ 病気 びょうき けが",
}

# Fields that ``resource_put`` sets (name and municipality identify the resource).
EDITABLE_FIELDS = frozenset(
    {
        "kana",
        "phone",
        "phone_hours",
        "url",
        "description",
        "for_whom",
        "published",
        "sort_order",
        "checked_on",
    }
)

_SPACES = re.compile(r"\s+")
# Dashes people type in phone numbers (the long vowel mark ー included).
_DASHES = str.maketrans(dict.fromkeys("ー‐‑–—―−－", "-"))


def clean_kana(value: str) -> str:
    """A reading as stored: katakana and half-width kana become hiragana."""
    return _SPACES.sub(" ", fold_kana(value)).strip()


def clean_place(value: str) -> str:
    """A municipality name as stored: NFKC, single spaces, trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value)).strip()


def clean_phone(value: str) -> str:
    """A phone number as stored: half-width digits, ASCII hyphens."""
    return unicodedata.normalize("NFKC", value).translate(_DASHES).strip()


def resource_search_key(*, name: str, kana: str, description: str, topics: Iterable[str]) -> str:
    """The search key: each part through ``search_key``, one part per line, so that a
    search (which has no white space) never matches across two parts."""
    parts = [name, kana, description]
    with translation.override("ja"):
        for code in topics:
            parts.append(str(Topic(code).label))
            parts.extend(TOPIC_WORDS.get(code, "").split())
    keys = (search_key(part) for part in parts)
    return "\n".join(dict.fromkeys(key for key in keys if key))


def resource_reindex(*, resource: Resource) -> str:
    """Write the search key from the stored name, reading, description and topics."""
    topics = ResourceTopic.objects.filter(resource=resource).values_list("topic", flat=True)
    key = resource_search_key(
        name=resource.name, kana=resource.kana, description=resource.description, topics=topics
    )
    Resource.objects.filter(pk=resource.pk).update(search=key)
    resource.search = key
    return key


def resources_reindex_all() -> int:
    """Make every search key again (after the topic words or their translation change)."""
    count = 0
    for resource in Resource.objects.all().iterator():
        resource_reindex(resource=resource)
        count += 1
    return count


@transaction.atomic
def resource_topics_set(*, resource: Resource, topics: Iterable[str]) -> None:
    """Give ``resource`` exactly ``topics`` and refresh its search key.

    Part of a save that the caller audits (the admin's ``save_model``, or
    ``resource_put``). An unknown topic raises ``ValueError``.
    """
    wanted = {Topic(code).value for code in topics}
    ResourceTopic.objects.filter(resource=resource).exclude(topic__in=wanted).delete()
    existing = set(ResourceTopic.objects.filter(resource=resource).values_list("topic", flat=True))
    ResourceTopic.objects.bulk_create(
        [ResourceTopic(resource=resource, topic=code) for code in sorted(wanted - existing)]
    )
    getattr(resource, "_prefetched_objects_cache", {}).pop("topic_links", None)
    resource_reindex(resource=resource)


@transaction.atomic
def resource_put(
    *,
    actor: Any,
    name: str,
    municipality: str = "",
    topics: Iterable[str] = (),
    **fields: Any,
) -> tuple[Resource, bool]:
    """Create the resource ``name`` in ``municipality`` or bring it up to date.

    Returns the resource and whether anything changed; an audit entry is written only
    then, so running the same data again writes nothing. Raises ``ValidationError`` for
    invalid data and ``ValueError`` for an unknown topic.
    """
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"resource_put: unknown fields {sorted(unknown)}")
    if "kana" in fields:
        fields["kana"] = clean_kana(fields["kana"])
    if "phone" in fields:
        fields["phone"] = clean_phone(fields["phone"])
    municipality = clean_place(municipality)
    new_topics = {Topic(code).value for code in topics}

    resource = Resource.objects.filter(name=name, municipality=municipality).first()
    created = resource is None
    if resource is None:
        resource = Resource(name=name, municipality=municipality)
        old_topics: set[str] = set()
    else:
        old_topics = set(resource.topic_links.values_list("topic", flat=True))
    changed = sorted(f for f, value in fields.items() if created or getattr(resource, f) != value)
    for field, value in fields.items():
        setattr(resource, field, value)
    if new_topics != old_topics:
        changed.append("topics")
    if not created and not changed:
        return resource, False

    resource.full_clean()
    resource.save()
    resource_topics_set(resource=resource, topics=new_topics)
    audit_record(
        actor=actor,
        action="resource.added" if created else "resource.changed",
        target=resource,
        data={"fields": changed},
    )
    return resource, True
