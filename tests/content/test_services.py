"""Saving, revisions, restoring, publishing: the rules and the audit trail."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from uketome.content import services
from uketome.content.models import NewsItem, NewsKind, Page, PageRevision, Status
from uketome.core.audit import audit_verify
from uketome.core.models import AuditEntry


def test_every_save_keeps_a_revision(make_page: Callable[..., Page]) -> None:
    page = make_page(title="一", body="いち")
    for title in ("二", "三"):
        page = services.page_save(
            actor=None, page=page, slug=page.slug, title=title, body=f"{title} text"
        )
    revisions = list(page.revisions.order_by("id"))
    assert [r.title for r in revisions] == ["一", "二", "三"]
    assert revisions[-1].body == "三 text"
    assert Page.objects.get(pk=page.pk).title == "三"
    saved = AuditEntry.objects.filter(action="content.page_saved", target_id=str(page.pk))
    assert saved.count() == 3
    assert saved.first().data["created"] is True
    assert audit_verify().ok


def test_the_author_and_note_are_kept(
    make_page: Callable[..., Page], personas: dict[str, Any]
) -> None:
    page = make_page()
    editor = personas["secretariat"]
    services.page_save(
        actor=editor, page=page, slug="hello", title="t", body="b", note="  typo  fixed "
    )
    latest = page.revisions.order_by("-id").first()
    assert latest.author == editor
    assert latest.note == "typo fixed"


def test_restore_brings_back_an_old_version_as_a_new_revision(
    make_page: Callable[..., Page],
) -> None:
    page = make_page(title="はじめ", body="もとの 文")
    first = page.revisions.get()
    page = services.page_save(actor=None, page=page, slug=page.slug, title="あと", body="新しい 文")
    restored = services.page_restore(actor=None, revision=first)
    page.refresh_from_db()
    assert (page.title, page.body) == ("はじめ", "もとの 文")
    assert page.revisions.count() == 3
    assert restored.restored_from == first
    assert restored.body == "もとの 文"
    entry = AuditEntry.objects.get(action="content.page_restored")
    assert entry.data["from_revision"] == first.pk


def test_publish_and_unpublish(make_page: Callable[..., Page]) -> None:
    page = make_page()
    assert page.status == Status.DRAFT and page.published_at is None
    page = services.page_publish(actor=None, page=page)
    assert page.status == Status.PUBLISHED and page.published_at is not None
    page = services.page_unpublish(actor=None, page=page)
    assert page.status == Status.DRAFT
    actions = list(
        AuditEntry.objects.filter(
            action__in=["content.page_published", "content.page_unpublished"]
        ).values_list("action", flat=True)
    )
    assert actions == ["content.page_published", "content.page_unpublished"]


def test_an_empty_page_cannot_be_published(make_page: Callable[..., Page]) -> None:
    page = make_page(body="")
    with pytest.raises(services.ContentError) as caught:
        services.page_publish(actor=None, page=page)
    assert caught.value.field == "body"
    assert Page.objects.get(pk=page.pk).status == Status.DRAFT


@pytest.mark.parametrize(
    "slug",
    ["", "Hello", "hello world", "hello_world", "-hello", "hello-", "a--b", "ひらがな", "x" * 61],
)
def test_bad_addresses_are_refused(db: Any, slug: str) -> None:
    with pytest.raises(services.ContentError) as caught:
        services.page_save(actor=None, slug=slug, title="t", body="b")
    assert caught.value.field == "slug"
    assert str(caught.value)
    assert not Page.objects.exists()
    assert not PageRevision.objects.exists()


def test_reserved_and_taken_addresses_are_refused(make_page: Callable[..., Page]) -> None:
    make_page("hello")
    other = make_page("other")
    for slug in ("news", "hello"):
        with pytest.raises(services.ContentError) as caught:
            services.page_save(actor=None, slug=slug, title="t", body="b")
        assert caught.value.field == "slug"
        with pytest.raises(services.ContentError):
            services.page_save(actor=None, page=other, slug=slug, title="t", body="b")
    # A page keeps its own address.
    services.page_save(actor=None, page=other, slug="other", title="t2", body="b")


def test_empty_or_long_titles_and_long_bodies_are_refused(db: Any) -> None:
    cases = [
        ({"title": "  "}, "title"),
        ({"title": "あ" * 201}, "title"),
        ({"body": "あ" * 20_001}, "body"),
        ({"audience": "aliens"}, "audience"),
        ({"age_group": "adult"}, "age_group"),
        ({"sort_order": -1}, "sort_order"),
    ]
    for change, field in cases:
        values: dict[str, Any] = {"slug": "ok", "title": "t", "body": "b", **change}
        with pytest.raises(services.ContentError) as caught:
            services.page_save(actor=None, **values)
        assert caught.value.field == field, change
    assert not Page.objects.exists()
    # Exactly at the limit is fine.
    services.page_save(actor=None, slug="ok", title="あ" * 200, body="あ" * 20_000)


def test_a_save_over_someone_elses_is_refused(make_page: Callable[..., Page]) -> None:
    page = make_page()
    opened = page.revisions.get().pk
    services.page_save(
        actor=None, page=page, slug="hello", title="B", body="b", expected_revision=opened
    )
    with pytest.raises(services.EditConflict):
        services.page_save(
            actor=None, page=page, slug="hello", title="C", body="c", expected_revision=opened
        )
    assert Page.objects.get(pk=page.pk).title == "B"
    assert page.revisions.count() == 2


def test_news_and_events(db: Any) -> None:
    with pytest.raises(services.ContentError) as caught:
        services.news_save(actor=None, title="forum", body="b", kind=NewsKind.EVENT)
    assert caught.value.field == "event_date"
    day = datetime.date(2030, 8, 1)
    event = services.news_save(
        actor=None, title="forum", body="b", kind=NewsKind.EVENT, event_date=day
    )
    assert event.event_date == day
    news = services.news_save(actor=None, title="n", body="b", kind="news", event_date=day)
    assert news.event_date is None  # only events have a date
    news = services.news_publish(actor=None, item=news)
    assert news.is_published and news.published_at is not None
    news = services.news_unpublish(actor=None, item=news)
    assert not news.is_published
    assert NewsItem.objects.count() == 2
    assert AuditEntry.objects.filter(action="content.news_saved").count() == 2
    with pytest.raises(services.ContentError):
        services.news_save(actor=None, item=news, title="", body="b", kind="news")
