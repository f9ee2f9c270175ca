"""The editor's pages: only the secretariat (and system administrators) reach them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext

from uketome.content.models import Page, PageRevision, Status

OTHERS = [
    "listener_tsu",
    "supporter_tsu",
    "supervisor_suzuka",
    "coordinator_tsu",
    "government",
    "fostercare",
]


def _ja(message: str) -> str:
    """The message as the page shows it (Japanese once translated), escaped."""
    with translation.override("ja"):
        return escape(gettext(message))


@pytest.fixture
def editor(personas: dict[str, Any], sign_in: Callable[..., Client]) -> Client:
    return sign_in(personas["secretariat"])


def _form(**change: Any) -> dict[str, Any]:
    data = {
        "title": "でんわの ページ",
        "slug": "phone",
        "body": "でんわを かけてね。\n\n- ひとつ\n- ふたつ",
        "audience": "children",
        "age_group": "all",
        "sort_order": "0",
        "note": "",
    }
    data.update(change)
    return data


@pytest.mark.parametrize("who", OTHERS)
def test_other_roles_get_not_found(
    who: str,
    personas: dict[str, Any],
    sign_in: Callable[..., Client],
    make_page: Callable[..., Page],
) -> None:
    page = make_page()
    client = sign_in(personas[who])
    for path in [
        "/staff/content/",
        "/staff/content/pages/new/",
        f"/staff/content/pages/{page.pk}/",
        f"/staff/content/pages/{page.pk}/preview/",
        "/staff/content/news/new/",
    ]:
        assert client.get(path).status_code == 404, path
    assert client.post(f"/staff/content/pages/{page.pk}/publish/").status_code == 404
    assert client.post("/staff/content/pages/new/", _form()).status_code == 404
    page.refresh_from_db()
    assert page.status == Status.DRAFT
    assert not Page.objects.filter(slug="phone").exists()


def test_signed_out_people_are_sent_to_sign_in(make_page: Callable[..., Page]) -> None:
    page = make_page()
    response = Client().get(f"/staff/content/pages/{page.pk}/preview/")
    assert response.status_code == 302
    assert "/staff/login/" in response["Location"]


@pytest.mark.parametrize("who", ["secretariat", "sysadmin"])
def test_the_secretariat_and_admins_reach_the_list(
    who: str,
    personas: dict[str, Any],
    sign_in: Callable[..., Client],
    make_page: Callable[..., Page],
) -> None:
    make_page()
    response = sign_in(personas[who]).get("/staff/content/")
    assert response.status_code == 200
    assert "はじめての ページ" in response.content.decode()


def test_create_edit_and_see_the_history(editor: Client) -> None:
    response = editor.post("/staff/content/pages/new/", _form())
    assert response.status_code == 302
    page = Page.objects.get(slug="phone")
    assert page.status == Status.DRAFT
    edit_url = f"/staff/content/pages/{page.pk}/"
    assert response["Location"] == edit_url
    first = page.revisions.get()
    response = editor.post(
        edit_url, _form(title="あたらしい 題", note="題を かえた", revision=str(first.pk))
    )
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.title == "あたらしい 題"
    html = editor.get(edit_url).content.decode()
    assert "題を かえた" in html
    assert html.count("/restore/") == 1  # the older version; the current one needs none
    assert f"/staff/content/pages/{page.pk}/restore/{first.pk}/" in html


def test_restore_from_the_history(editor: Client, make_page: Callable[..., Page]) -> None:
    page = make_page(title="もとの 題")
    first = page.revisions.get()
    editor.post(f"/staff/content/pages/{page.pk}/", _form(slug="hello", title="かえた 題"))
    response = editor.post(f"/staff/content/pages/{page.pk}/restore/{first.pk}/")
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.title == "もとの 題"
    assert page.revisions.count() == 3
    # A revision of another page cannot be restored here.
    other = make_page("other")
    wrong = other.revisions.get()
    assert editor.post(f"/staff/content/pages/{page.pk}/restore/{wrong.pk}/").status_code == 404


def test_publish_and_unpublish_buttons(
    editor: Client, make_page: Callable[..., Page], client: Client
) -> None:
    page = make_page()
    assert editor.get(f"/staff/content/pages/{page.pk}/publish/").status_code == 405
    assert client.get("/p/hello/").status_code == 404
    response = editor.post(f"/staff/content/pages/{page.pk}/publish/")
    assert response.status_code == 302
    assert client.get("/p/hello/").status_code == 200
    editor.post(f"/staff/content/pages/{page.pk}/unpublish/")
    assert client.get("/p/hello/").status_code == 404


def test_publishing_an_empty_page_says_why(editor: Client, make_page: Callable[..., Page]) -> None:
    page = make_page(body="")
    response = editor.post(f"/staff/content/pages/{page.pk}/publish/", follow=True)
    assert response.status_code == 200
    assert _ja("Write the text before publishing the page.") in response.content.decode()
    page.refresh_from_db()
    assert page.status == Status.DRAFT


def test_preview_shows_the_draft_with_furigana_at_the_grade_asked(
    editor: Client, make_page: Callable[..., Page]
) -> None:
    page = make_page(body="電話を かけてね\n- {受け手|うけて}が 出ます")
    url = f"/staff/content/pages/{page.pk}/preview/"
    every = editor.get(url)
    assert every.status_code == 200
    html = every.content.decode()
    assert '<html lang="ja">' in html
    assert "public.css" in html  # the public page's look, not the staff one
    assert "<rt>でんわ</rt>" in html
    assert "<ruby>受け手<rt>うけて</rt></ruby>" in html
    assert 'class="preview-bar"' in html
    grade2 = editor.get(url + "?g=2").content.decode()
    assert "<rt>でんわ</rt>" not in grade2
    assert "<ruby>受け手<rt>うけて</rt></ruby>" in grade2  # the editor's reading stays
    assert "<ruby>" not in editor.get(url + "?g=none").content.decode()


def test_preview_looks_like_the_public_page(
    editor: Client, make_page: Callable[..., Page], client: Client
) -> None:
    page = make_page(published=True, body="## 見出し\n- 学校\n\n電話")

    def article(html: str) -> str:
        return html[html.index("<article") : html.index("</article>")]

    public = client.get("/p/hello/?g=3").content.decode()
    preview = editor.get(f"/staff/content/pages/{page.pk}/preview/?g=3").content.decode()
    assert article(public) == article(preview)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"slug": "Bad Address"}, None),
        ({"title": ""}, "Give a title."),
        ({"body": "あ" * 20_001}, None),
        ({"sort_order": "abc"}, None),
        ({"audience": "aliens"}, None),
    ],
)
def test_bad_input_keeps_what_was_typed(
    editor: Client, change: dict[str, str], message: str | None
) -> None:
    typed = _form(**change)
    typed["body"] = change.get("body", "ここに 書いた 大事な 文 <b>")
    response = editor.post("/staff/content/pages/new/", typed)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="error"' in html
    assert escape(typed["body"]) in html
    assert f'value="{escape(typed["title"])}"' in html or not typed["title"]
    if message:
        assert _ja(message) in html
    assert not Page.objects.exists()


def test_a_taken_address_is_reported_on_the_field(
    editor: Client, make_page: Callable[..., Page]
) -> None:
    make_page("phone")
    response = editor.post("/staff/content/pages/new/", _form())
    assert response.status_code == 400
    assert _ja("Another page already has this address.") in response.content.decode()


def test_a_stale_edit_is_refused_then_allowed_on_purpose(
    editor: Client, make_page: Callable[..., Page]
) -> None:
    page = make_page()
    opened = page.revisions.get().pk
    url = f"/staff/content/pages/{page.pk}/"
    editor.post(url, _form(slug="hello", title="先に 保存", revision=str(opened)))
    response = editor.post(url, _form(slug="hello", title="あとから", revision=str(opened)))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="あとから"' in html
    newest = PageRevision.objects.filter(page=page).order_by("-id").first()
    assert f'name="revision" value="{newest.pk}"' in html
    # Saving again (having seen the warning) replaces the other version.
    response = editor.post(url, _form(slug="hello", title="あとから", revision=str(newest.pk)))
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.title == "あとから"


def test_news_editing_preview_and_publishing(editor: Client, client: Client) -> None:
    response = editor.post(
        "/staff/content/news/new/",
        {"title": "フォーラム", "kind": "event", "event_date": "", "body": "本文"},
    )
    assert response.status_code == 400
    assert _ja("Give the date of the event.") in response.content.decode()
    assert "フォーラム" in response.content.decode()
    response = editor.post(
        "/staff/content/news/new/",
        {"title": "フォーラム", "kind": "event", "event_date": "2099-08-01", "body": "本文"},
    )
    assert response.status_code == 302
    edit_url = response["Location"]
    pk = int(edit_url.rstrip("/").rsplit("/", 1)[1])
    assert client.get(f"/p/news/{pk}/").status_code == 404
    preview = editor.get(f"/staff/content/news/{pk}/preview/")
    assert preview.status_code == 200
    assert "2099-08-01" in preview.content.decode()
    editor.post(f"/staff/content/news/{pk}/publish/")
    assert client.get(f"/p/news/{pk}/").status_code == 200
    assert "フォーラム" in client.get("/p/news/").content.decode()
    editor.post(f"/staff/content/news/{pk}/unpublish/")
    assert client.get(f"/p/news/{pk}/").status_code == 404
    response = editor.post(
        edit_url, {"title": "x", "kind": "news", "event_date": "not a date", "body": "b"}
    )
    assert response.status_code == 400
