"""Portal content: the editor's pages (staff) and the public pages (/p/).

Staff pages are for the people allowed by ``content.change_page`` (pages) and
``content.change_newsitem`` (news): the secretariat and system administrators. Everyone
else gets "not found". The preview renders the public template, so it looks exactly like
the public page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from uketome.content import selectors, services
from uketome.content.forms import NewsForm, PageForm
from uketome.content.models import NewsItem, Page, PageRevision
from uketome.content.render import plain_text, render_body
from uketome.portal.cache import public_cache
from uketome.portal.ruby import CHOICES, GRADE_PARAM, grade_from

View = Callable[..., HttpResponse]


def _allowed(check: Callable[[Any], bool]) -> Callable[[View], View]:
    """Signed in and allowed by ``check``, else "not found" (the page's existence is not
    revealed)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                raise Http404
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


page_editors = _allowed(selectors.can_edit_pages)
news_editors = _allowed(selectors.can_edit_news)


def _japanese(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Children's pages are always in Japanese, whatever a staff member chose on this device."""
    with translation.override("ja"):
        response = render(request, template, context, status=status)
    response.headers["Content-Language"] = "ja"
    return response


def _grade_labels() -> list[tuple[str, str]]:
    """(query value, label) for the furigana choice of the editor's preview button."""
    labels = []
    for value, grade in CHOICES:
        if grade is None:
            labels.append((value, _("none")))
        elif grade == 0:
            labels.append((value, _("all kanji")))
        else:
            labels.append((value, _("grade %(n)s") % {"n": grade}))
    return labels


def _public_base(request: HttpRequest) -> dict[str, Any]:
    """What "public_base.html" needs. On public pages the context processor
    ``uketome.portal.context_processors.public`` gives it; the staff preview (under
    /staff/, where that processor gives nothing) gets the same here."""
    return {
        "grade": grade_from(request),
        "grade_param": GRADE_PARAM,
        "grade_choices": CHOICES,
        "quick_exit_url": getattr(settings, "QUICK_EXIT_URL", ""),
    }


def _page_context(request: HttpRequest, page: Page, *, preview: bool) -> dict[str, Any]:
    base = _public_base(request)
    return {
        **base,
        "page": page,
        "title_text": plain_text(page.title),
        "body": render_body(page.body, base["grade"]),
        "menu": selectors.menu_pages(),
        "preview": preview,
    }


def _news_context(request: HttpRequest, item: NewsItem, *, preview: bool) -> dict[str, Any]:
    base = _public_base(request)
    return {
        **base,
        "item": item,
        "title_text": plain_text(item.title),
        "body": render_body(item.body, base["grade"]),
        "preview": preview,
    }


# --- public pages -------------------------------------------------------------------------


@public_cache
def public_page(request: HttpRequest, slug: str) -> HttpResponse:
    page = selectors.published_page(slug)
    if page is None:
        raise Http404
    return _japanese(
        request, "content/public_page.html", _page_context(request, page, preview=False)
    )


@public_cache
def public_news_list(request: HttpRequest) -> HttpResponse:
    upcoming, others = selectors.news_for_the_public()
    return _japanese(
        request,
        "content/public_news_list.html",
        {**_public_base(request), "upcoming": upcoming, "others": others},
    )


@public_cache
def public_news_item(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.published_news_item(pk)
    if item is None:
        raise Http404
    return _japanese(
        request, "content/public_news_item.html", _news_context(request, item, preview=False)
    )


# --- editors: the list --------------------------------------------------------------------


@login_required
def index(request: HttpRequest) -> HttpResponse:
    can_pages = selectors.can_edit_pages(request.user)
    can_news = selectors.can_edit_news(request.user)
    if not (can_pages or can_news):
        raise Http404
    return render(
        request,
        "content/staff_index.html",
        {
            "pages": selectors.pages_for_editing(request.user).order_by("sort_order", "title"),
            "news": selectors.news_for_editing(request.user).order_by("-created_at", "-id")[:100],
            "can_pages": can_pages,
            "can_news": can_news,
        },
    )


# --- editors: pages -----------------------------------------------------------------------


def _page_or_404(request: HttpRequest, pk: int) -> Page:
    return get_object_or_404(selectors.pages_for_editing(request.user), pk=pk)


def _save_page(request: HttpRequest, form: PageForm, page: Page | None) -> Page | None:
    """Save from a valid form; on a refusal, put the message on the form and return None."""
    data = form.cleaned_data
    try:
        return services.page_save(
            actor=request.user,
            page=page,
            slug=data["slug"],
            title=data["title"],
            body=data["body"],
            audience=data["audience"],
            age_group=data["age_group"],
            show_in_menu=data["show_in_menu"],
            sort_order=data["sort_order"],
            note=data["note"],
            expected_revision=data.get("revision"),
        )
    except services.ContentError as error:
        form.add_error(error.field if error.field in form.fields else None, str(error))
        if page is not None and isinstance(error, services.EditConflict):
            # A second save (after looking at the history) replaces their version.
            latest = selectors.page_history(page).values_list("id", flat=True).first()
            data = request.POST.copy()
            data["revision"] = str(latest or "")
            form.data = data
        return None


def _page_form_page(request: HttpRequest, form: PageForm, page: Page | None) -> HttpResponse:
    history = list(selectors.page_history(page)[:100]) if page is not None else []
    return render(
        request,
        "content/page_form.html",
        {
            "form": form,
            "page": page,
            "history": history,
            "preview_grades": _grade_labels(),
        },
        status=400 if form.errors else 200,
    )


@page_editors
def page_new(request: HttpRequest) -> HttpResponse:
    form = PageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        page = _save_page(request, form, None)
        if page is not None:
            messages.success(request, _("The page was saved as a draft."))
            return redirect("content:page_edit", pk=page.pk)
    return _page_form_page(request, form, None)


@page_editors
def page_edit(request: HttpRequest, pk: int) -> HttpResponse:
    page = _page_or_404(request, pk)
    if request.method == "POST":
        form = PageForm(request.POST)
        if form.is_valid() and _save_page(request, form, page) is not None:
            messages.success(request, _("The page was saved."))
            return redirect("content:page_edit", pk=page.pk)
    else:
        latest = selectors.page_history(page).values_list("id", flat=True).first()
        form = PageForm(
            initial={
                "title": page.title,
                "slug": page.slug,
                "body": page.body,
                "audience": page.audience,
                "age_group": page.age_group,
                "show_in_menu": page.show_in_menu,
                "sort_order": page.sort_order,
                "revision": latest,
            }
        )
    return _page_form_page(request, form, page)


@page_editors
def page_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The page as children would see it (saved text, published or not), at ``?g=N``."""
    page = _page_or_404(request, pk)
    response = _japanese(
        request, "content/public_page.html", _page_context(request, page, preview=True)
    )
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@page_editors
@require_POST
def page_publish(request: HttpRequest, pk: int) -> HttpResponse:
    page = _page_or_404(request, pk)
    try:
        services.page_publish(actor=request.user, page=page)
    except services.ContentError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The page is published."))
    return redirect("content:page_edit", pk=page.pk)


@page_editors
@require_POST
def page_unpublish(request: HttpRequest, pk: int) -> HttpResponse:
    page = _page_or_404(request, pk)
    services.page_unpublish(actor=request.user, page=page)
    messages.success(request, _("The page is no longer published."))
    return redirect("content:page_edit", pk=page.pk)


@page_editors
@require_POST
def page_restore(request: HttpRequest, pk: int, revision: int) -> HttpResponse:
    page = _page_or_404(request, pk)
    old = get_object_or_404(PageRevision, pk=revision, page=page)
    services.page_restore(actor=request.user, revision=old)
    messages.success(
        request,
        _("The version of %(when)s was restored as a new version.")
        % {"when": timezone.localtime(old.created_at).strftime("%Y-%m-%d %H:%M")},
    )
    return redirect("content:page_edit", pk=page.pk)


# --- editors: news ------------------------------------------------------------------------


def _news_or_404(request: HttpRequest, pk: int) -> NewsItem:
    return get_object_or_404(selectors.news_for_editing(request.user), pk=pk)


def _news_form_page(request: HttpRequest, form: NewsForm, item: NewsItem | None) -> HttpResponse:
    return render(
        request,
        "content/news_form.html",
        {"form": form, "item": item, "preview_grades": _grade_labels()},
        status=400 if form.errors else 200,
    )


def _save_news(request: HttpRequest, form: NewsForm, item: NewsItem | None) -> NewsItem | None:
    data = form.cleaned_data
    try:
        return services.news_save(
            actor=request.user,
            item=item,
            title=data["title"],
            body=data["body"],
            kind=data["kind"],
            event_date=data.get("event_date"),
        )
    except services.ContentError as error:
        form.add_error(error.field if error.field in form.fields else None, str(error))
        return None


@news_editors
def news_new(request: HttpRequest) -> HttpResponse:
    form = NewsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        item = _save_news(request, form, None)
        if item is not None:
            messages.success(request, _("The news item was saved as a draft."))
            return redirect("content:news_edit", pk=item.pk)
    return _news_form_page(request, form, None)


@news_editors
def news_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = _news_or_404(request, pk)
    if request.method == "POST":
        form = NewsForm(request.POST)
        if form.is_valid() and _save_news(request, form, item) is not None:
            messages.success(request, _("The news item was saved."))
            return redirect("content:news_edit", pk=item.pk)
    else:
        form = NewsForm(
            initial={
                "title": item.title,
                "kind": item.kind,
                "event_date": item.event_date,
                "body": item.body,
            }
        )
    return _news_form_page(request, form, item)


@news_editors
def news_preview(request: HttpRequest, pk: int) -> HttpResponse:
    item = _news_or_404(request, pk)
    response = _japanese(
        request, "content/public_news_item.html", _news_context(request, item, preview=True)
    )
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@news_editors
@require_POST
def news_publish(request: HttpRequest, pk: int) -> HttpResponse:
    item = _news_or_404(request, pk)
    try:
        services.news_publish(actor=request.user, item=item)
    except services.ContentError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The news item is published."))
    return redirect("content:news_edit", pk=item.pk)


@news_editors
@require_POST
def news_unpublish(request: HttpRequest, pk: int) -> HttpResponse:
    item = _news_or_404(request, pk)
    services.news_unpublish(actor=request.user, item=item)
    messages.success(request, _("The news item is no longer published."))
    return redirect("content:news_edit", pk=item.pk)
