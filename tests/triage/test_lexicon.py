"""The secretariat edits the lexicon: audited, allowed by the rules, used at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import run_async
from uketome import triage
from uketome.accounts.models import User
from uketome.core.audit import audit_verify
from uketome.core.models import AuditEntry
from uketome.triage import assess, scoring
from uketome.triage.defaults import default_entries
from uketome.triage.models import LexiconEntry
from uketome.triage.services import lexicon_load_defaults

ADMIN = "/staff/admin/triage/lexiconentry/"


def form_data(**changes: Any) -> dict[str, Any]:
    data = {
        "term": "ぴえんこえてぱおん",
        "name": "",
        "kind": "substring",
        "effect": "risk",
        "category": "distress",
        "level": "watch",
        "weight": "5",
        "shift": "0",
        "exceptions": "",
        "note": "",
        "active": "on",
    }
    data.update(changes)
    return data


def test_migrate_loads_the_shipped_lexicon(db: Any) -> None:
    assert LexiconEntry.objects.count() == len(default_entries())
    # Loading again adds nothing, and leaves the secretariat's changes alone.
    entry = LexiconEntry.objects.get(term="死ぬ * たい")
    entry.level = "urgent"
    entry.save()
    assert lexicon_load_defaults(actor=None) == 0
    entry.refresh_from_db()
    assert entry.level == "urgent"


def test_a_deleted_shipped_entry_comes_back_only_when_asked(db: Any) -> None:
    LexiconEntry.objects.filter(term="りすか").delete()
    assert assess("リスカしてる").level == "none"
    assert lexicon_load_defaults(actor=None) == 1
    assert assess("リスカしてる").level == "high"
    assert AuditEntry.objects.filter(action="triage.lexicon_loaded").get().data == {"added": 1}


def test_edits_take_effect_for_the_next_message(db: Any) -> None:
    assert assess("ぴえんこえてぱおん").level == "none"
    entry = LexiconEntry.objects.create(
        term="ぴえんこえてぱおん", kind="substring", category="distress", level="watch"
    )
    assert assess("ﾋﾟｴﾝｺｴﾃﾊﾟｵﾝ").level == "watch"
    entry.level = "high"
    entry.save()
    assert assess("ぴえんこえてぱおん").level == "high"
    entry.active = False
    entry.save()
    assert assess("ぴえんこえてぱおん").level == "none"
    entry.active = True
    entry.exceptions = "ぱおん$"
    entry.save()
    assert assess("ぴえんこえてぱおん").level == "none"
    assert assess("ぴえんこえてぱおんだよ").level == "high"
    entry.delete()
    assert assess("ぴえんこえてぱおんだよ").level == "none"


def test_secretariat_adds_an_entry_in_the_admin_and_it_is_audited(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    client = sign_in(personas["secretariat"])
    assert client.get(f"{ADMIN}add/").status_code == 200
    response = client.post(f"{ADMIN}add/", form_data())
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = LexiconEntry.objects.get(term="ぴえんこえてぱおん")
    assert assess("ぴえんこえてぱおん").level == "watch"
    audit = AuditEntry.objects.filter(action="admin.added").get()
    assert audit.actor_label == "secretariat"
    assert audit.target_type == "triage.lexiconentry"
    assert audit.target_id == str(entry.pk)
    assert audit_verify().ok

    url = f"{ADMIN}{entry.pk}/change/"
    response = client.post(url, form_data(level="urgent"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert assess("ぴえんこえてぱおん").level == "urgent"
    assert AuditEntry.objects.filter(action="admin.changed", target_id=str(entry.pk)).exists()


def test_a_broken_pattern_is_refused_with_the_reason_and_the_input_kept(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    client = sign_in(personas["secretariat"])
    response = client.post(f"{ADMIN}add/", form_data(term="(しにた", kind="pattern"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "(しにた" in page
    assert "missing )" in page
    assert not LexiconEntry.objects.filter(term="(しにた").exists()


def test_a_context_entry_needs_a_context_category_and_a_shift(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    client = sign_in(personas["secretariat"])
    response = client.post(
        f"{ADMIN}add/", form_data(effect="context", category="suicide", shift="0")
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert set(form.errors) == {"category", "shift"}


def test_context_entries_apply_to_the_categories_ticked(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    client = sign_in(personas["secretariat"])
    response = client.post(
        f"{ADMIN}add/",
        form_data(
            term="ほんとに",
            kind="substring",
            effect="context",
            category="immediacy",
            shift="1",
            applies_to=["suicide"],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert LexiconEntry.objects.get(term="ほんとに").applies_to == ["suicide"]
    assert assess("ほんとにしにたい").level == "urgent"
    assert assess("ほんとにいじめられてる").level == "watch"


def test_try_a_message_page(personas: dict[str, User], sign_in: Callable[..., Client]) -> None:
    client = sign_in(personas["secretariat"])
    assert client.get(f"{ADMIN}try/").status_code == 200
    response = client.post(f"{ADMIN}try/", {"text": "ｼﾆﾀｸﾅﾙ"})
    assert response.status_code == 200
    assert response.context["result"].level == "high"
    assert 'data-level="high"' in response.content.decode()
    # Nothing typed there is stored or audited.
    assert not AuditEntry.objects.filter(data__icontains="ｼﾆﾀｸﾅﾙ").exists()


@pytest.mark.parametrize("who", ["secretariat", "sysadmin"])
def test_secretariat_and_system_admin_may_edit(personas: dict[str, User], who: str) -> None:
    user = personas[who]
    for verb in ("view", "add", "change", "delete"):
        assert user.has_perm(f"triage.{verb}_lexiconentry")


@pytest.mark.parametrize(
    "who", ["listener_tsu", "supporter_tsu", "supervisor_suzuka", "coordinator_tsu", "government"]
)
def test_others_may_not_see_or_edit_the_lexicon(
    personas: dict[str, User], sign_in: Callable[..., Client], who: str
) -> None:
    user = personas[who]
    for verb in ("view", "add", "change", "delete"):
        assert not user.has_perm(f"triage.{verb}_lexiconentry")
    client = sign_in(user)
    entry = LexiconEntry.objects.get(term="りすか")
    assert entry.level == "high"
    for url in (ADMIN, f"{ADMIN}add/", f"{ADMIN}{entry.pk}/change/", f"{ADMIN}try/"):
        assert client.get(url).status_code == 404
    response = client.post(f"{ADMIN}{entry.pk}/change/", form_data(term="りすか", level="urgent"))
    assert response.status_code == 404
    entry.refresh_from_db()
    assert entry.level == "high"


def test_the_staff_menu_links_the_lexicon_for_the_secretariat_only(
    personas: dict[str, User], sign_in: Callable[..., Client]
) -> None:
    page = sign_in(personas["secretariat"]).get("/staff/").content.decode()
    assert ADMIN in page
    page = sign_in(personas["supervisor_suzuka"]).get("/staff/").content.decode()
    assert ADMIN not in page


def test_an_edit_by_another_process_is_noticed(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another server process's edit sends no signal here: the version check sees it."""
    assert assess("しにたい").level == "high"
    # As another process would: a plain UPDATE, no signal in this process.
    LexiconEntry.objects.filter(category="suicide", level="high").update(
        level="urgent", updated_at=timezone.now()
    )
    assert assess("しにたい").level == "high"  # still the compiled lexicon
    monkeypatch.setattr(scoring, "RECHECK_SECONDS", 0.0)
    assert assess("しにたい").level == "urgent"


@pytest.mark.django_db(transaction=True)
def test_assess_works_inside_an_event_loop() -> None:
    """Chat consumers call assess from async code: the lexicon is read in a thread."""

    async def in_consumer() -> str:
        return assess("ｼﾆﾀｸﾅﾙ").level

    assert run_async(in_consumer) == "high"


def test_a_prepared_lexicon_is_not_read_again_at_the_first_message(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server process prepares triage before its first socket; the first child's message
    then reads and compiles nothing (compiling stalled every socket for about 0.2 s)."""
    assert scoring._source is not None
    loader, version = scoring._source
    reads: list[int] = []

    def counting_loader() -> Any:
        reads.append(1)
        return loader()

    monkeypatch.setattr(scoring, "_source", (counting_loader, version))
    triage.prepare()
    assert reads == [1]
    assert assess("しにたくなる").level == "high"
    assert assess("死ぬほど眠い").level == "none"
    assert reads == [1]
