"""The demo pages and news: loaded once, published, and every one renders."""

from __future__ import annotations

from typing import Any

from django.test import Client

from uketome.content.demo import demo_data, load_content, load_pages
from uketome.content.models import NewsItem, NewsKind, Page, PageRevision, Status

SLUGS = {
    "what-happens",
    "rights",
    "elementary",
    "junior-high",
    "high-school",
    "for-adults",
    "foster-parents",
    "hide-history",
}


def test_the_demo_loader_is_idempotent(db: Any) -> None:
    first = load_content()
    assert first == {"pages": len(SLUGS), "news": len(demo_data()["news"])}
    counts = (Page.objects.count(), PageRevision.objects.count(), NewsItem.objects.count())
    assert load_content() == {"pages": 0, "news": 0}
    assert load_pages() == 0
    assert (Page.objects.count(), PageRevision.objects.count(), NewsItem.objects.count()) == counts
    assert set(Page.objects.values_list("slug", flat=True)) == SLUGS
    assert not Page.objects.exclude(status=Status.PUBLISHED).exists()
    assert not NewsItem.objects.exclude(status=Status.PUBLISHED).exists()


def test_an_edited_demo_page_is_not_overwritten(db: Any) -> None:
    load_pages()
    Page.objects.filter(slug="rights").update(title="かえた")
    load_pages()
    assert Page.objects.get(slug="rights").title == "かえた"


def test_every_demo_page_renders(db: Any, client: Client) -> None:
    load_content()
    for slug in SLUGS:
        for grade in ["", "?g=3", "?g=none"]:
            response = client.get(f"/p/{slug}/{grade}")
            assert response.status_code == 200, (slug, grade)
            html = response.content.decode()
            assert "{" not in html.split("<main", 1)[1], (slug, grade)  # markup all read
            assert "Set-Cookie" not in response.headers
        assert "<ruby>" in client.get(f"/p/{slug}/").content.decode(), slug


def test_the_demo_event_is_coming_up(db: Any, client: Client) -> None:
    load_content()
    event = NewsItem.objects.get(kind=NewsKind.EVENT)
    assert event.title.startswith("【デモ】")
    html = client.get("/p/news/").content.decode()
    assert html.index(f"/p/news/{event.pk}/") < html.index('id="news"')
    for item in NewsItem.objects.all():
        assert item.title.startswith("【デモ】")
        assert client.get(f"/p/news/{item.pk}/").status_code == 200


def test_demo_texts_are_within_the_limits_and_mention_the_emergency_numbers(db: Any) -> None:
    load_pages()
    adults = Page.objects.get(slug="for-adults").body
    assert "189" in adults and "110" in adults and "119" in adults
    for page in Page.objects.all():
        assert len(page.body) < 20_000
