"""The taxonomy is data; each contact keeps its version; new versions never rewrite old
contacts, and old terms map to the current ones for reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from uketome.helpline.models import TaxonomyTerm, TaxonomyVersion, TermKind
from uketome.helpline.taxonomy import (
    TaxonomyError,
    current_version,
    load_all,
    read,
    taxonomy_files,
)

CHI = {
    "missing_children",
    "violence",
    "mental_health",
    "physical_health",
    "access_to_services",
    "discrimination",
    "family_relationships",
    "peer_relationships",
    "education_occupation",
    "sexuality",
    "non_counselling",
}


def test_shipped_taxonomy_is_loaded_after_migrate(db: Any) -> None:
    version = current_version()
    assert version.version == read(taxonomy_files()[-1])["version"]
    topics = TaxonomyTerm.objects.filter(version=version, kind=TermKind.TOPIC)
    labels = set(topics.values_list("label", flat=True))
    for label in ["人間関係", "いじめ", "虐待", "自殺・自傷", "ネットトラブル", "雑談"]:
        assert label in labels
    # Every topic maps to one of CHI's 11 categories, and every category is used.
    assert all(t.chi is not None and t.chi.code in CHI for t in topics)
    assert {t.chi.code for t in topics if t.chi} == CHI
    outcomes = TaxonomyTerm.objects.filter(version=version, kind=TermKind.OUTCOME)
    assert list(outcomes.values_list("label", flat=True)) == [
        "会話成立",
        "無言",
        "切断",
        "いたずら",
        "試し",
        "間違い",
        "大人から",
    ]
    risks = TaxonomyTerm.objects.filter(version=version, kind=TermKind.RISK_LEVEL)
    assert [(r.label, r.rank) for r in risks] == [("なし", 0), ("注意", 1), ("高", 2), ("緊急", 3)]


def _write_next_version(directory: Path, base: Path) -> None:
    text = base.read_text(encoding="utf-8")
    old_version = read(base)["version"]
    text = text.replace(f'version = "{old_version}"', 'version = "2099.1"', 1)
    # Rename one topic code; say so in a mapping.
    text = text.replace('code = "bullying"', 'code = "bullying_and_harassment"', 1)
    text += '\n[[mapping]]\nkind = "topic"\nfrom = "bullying"\nto = "bullying_and_harassment"\n'
    (directory / "2099.1.toml").write_text(text, encoding="utf-8")


def test_a_new_version_never_rewrites_old_contacts(
    db: Any, tmp_path: Path, personas: Any, recorded: Any
) -> None:
    old = current_version()
    contact = recorded(topics=["bullying", "human_relations"])
    for path in taxonomy_files():
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    _write_next_version(tmp_path, taxonomy_files()[-1])
    load_all(tmp_path)
    new = current_version()
    assert new.version == "2099.1" and new != old
    contact.refresh_from_db()
    assert contact.taxonomy == old
    assert sorted(contact.topics.values_list("code", flat=True)) == ["bullying", "human_relations"]
    # Reports map the old terms to the current ones.
    mapped = {t.code: t.current.code for t in contact.topics.all() if t.current}
    assert mapped == {"bullying": "bullying_and_harassment", "human_relations": "human_relations"}
    assert all(t.current.version == new for t in contact.topics.all() if t.current)
    # Loading again changes nothing.
    before = TaxonomyTerm.objects.count()
    load_all(tmp_path)
    assert TaxonomyTerm.objects.count() == before
    assert TaxonomyVersion.objects.count() == 2


def test_a_broken_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "1.toml"
    bad.write_text('version = "1"\n[[topics]]\ncode = "a"\nlabel = "A"\nchi = "nowhere"\n')
    with pytest.raises(TaxonomyError, match="unknown chi"):
        read(bad)


def test_list_and_detail_show_each_contacts_own_version_labels(
    db: Any, tmp_path: Path, personas: Any, recorded: Any, sign_in: Any
) -> None:
    """Pages fill term labels from a per-process cache: a contact recorded under an older
    version still shows that version's words, a newer contact the new ones."""
    old_contact = recorded(outcome="silent", minutes_ago=60)
    for path in taxonomy_files():
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    _write_next_version(tmp_path, taxonomy_files()[-1])
    newest = tmp_path / "2099.1.toml"
    newest.write_text(
        newest.read_text(encoding="utf-8").replace('label = "無言"', 'label = "無言(新)"', 1),
        encoding="utf-8",
    )
    load_all(tmp_path)
    new_contact = recorded(outcome="silent", minutes_ago=10)
    assert new_contact.taxonomy != old_contact.taxonomy

    client = sign_in(personas["listener_tsu"])
    listing = client.get("/staff/contacts/").content.decode()
    assert listing.count("無言(新)") == 1
    assert listing.count("<td>無言</td>") == 1
    old_page = client.get(f"/staff/contacts/{old_contact.pk}/").content.decode()
    new_page = client.get(f"/staff/contacts/{new_contact.pk}/").content.decode()
    assert "無言" in old_page and "無言(新)" not in old_page
    assert "無言(新)" in new_page
