"""Pages of the Q&A corner: public (/qa/) and staff (/staff/qa/)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.views.decorators.http import require_POST, require_safe

from uketome.core import ratelimit
from uketome.core.permissions import (
    approve_qa_answer,
    draft_qa_answer,
    review_qa_risk,
    view_qa_question,
)
from uketome.helpline.models import Channel
from uketome.portal.cache import public_cache
from uketome.portal.guard import child_form
from uketome.portal.ruby import DEFAULT_GRADE, GRADE_PARAM, grade_from, grade_param
from uketome.portal.selectors import line_statuses
from uketome.qa import selectors, services
from uketome.qa.forms import (
    MAX_QUERY_LENGTH,
    AskForm,
    CommentForm,
    DraftForm,
    ListParams,
    RiskReviewForm,
)
from uketome.qa.models import Category, FlagState, Question, Status

#: Questions one visitor may send in ``ASK_WINDOW`` seconds, and all visitors together.
ASK_LIMIT = 5
ASK_LIMIT_ALL = 300
ASK_WINDOW = 600


# --- Public pages -----------------------------------------------------------------------


def _public(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    grade = grade_from(request)
    context.update(
        {
            "grade": grade,
            "grade_param": GRADE_PARAM,
            "grade_value": "" if grade == DEFAULT_GRADE else grade_param(grade),
        }
    )
    # Children's pages are always in Japanese, whatever a staff member chose on this device.
    with translation.override("ja"):
        context["corner"] = services.corner_name()
        response = render(request, template, context, status=status)
    response.headers["Content-Language"] = "ja"
    return response


def _list_address(params: dict[str, str]) -> str:
    base = reverse("qa:index")
    return f"{base}?{urlencode(params)}" if params else base


@public_cache
@require_safe
def index(request: HttpRequest) -> HttpResponse:
    params = ListParams.from_get(request.GET)
    with translation.override("ja"):
        categories = [
            {
                "label": category.label,
                "url": _list_address(params.as_query(category=category.value)),
                "current": category.value == params.category,
            }
            for category in selectors.categories_in_use()
        ]
        category_label = (
            str(Category(params.category).label) if params.category in Category.values else ""
        )
    context: dict[str, Any] = {
        "params": params,
        "categories": categories,
        "category_label": category_label,
        "all_url": _list_address(params.as_query(category="")),
        "clear_url": _list_address({}),
        "newest_url": _list_address(params.as_query(order="new")),
        "popular_url": _list_address(params.as_query(order="popular")),
        "max_query_length": MAX_QUERY_LENGTH,
    }
    if params.filtered:
        context["listing"] = selectors.published_listing(
            query=params.query, category=params.category, order=params.order
        )
    else:
        context["newest"] = selectors.newest()
        context["most_read"] = selectors.most_read()
    return _public(request, "qa/index.html", context)


def _open_lines() -> list[Any]:
    return [
        status
        for status in line_statuses(timezone.now())
        if status.is_open and Channel.QA not in (status.line.channels or [])
    ]


@require_safe
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One published question and answer. Not cached: each GET counts one view."""
    item = selectors.published_one(pk)
    if request.method == "GET":
        services.published_view_count(published=item)
    response = _public(
        request,
        "qa/detail.html",
        {
            "item": item,
            "answer_paragraphs": [p for p in item.answer_text.split("\n") if p.strip()],
            "open_lines": _open_lines(),
            "related": selectors.related(item),
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@child_form
def ask(request: HttpRequest) -> HttpResponse:
    """The child's question: no cookie, same-origin posts only, flood limits."""
    form = AskForm(request.POST if request.method == "POST" else None)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["website"]:
            return redirect(_sent_address(request))  # a robot: pretend all went well
        allowed = ratelimit.allow(
            "qa-ask", ratelimit.visitor(request), limit=ASK_LIMIT, window=ASK_WINDOW
        ) and ratelimit.allow("qa-ask-all", "all", limit=ASK_LIMIT_ALL, window=ASK_WINDOW)
        if not allowed:
            with translation.override("ja"):
                error = str(
                    translation.gettext(
                        "Many questions came in a short time. "
                        "Please wait a little and send it again."
                    )
                )
            status = 429
        else:
            try:
                services.question_receive(
                    text=form.cleaned_data["text"], category_hint=form.cleaned_data["category"]
                )
            except services.QaError as problem:
                with translation.override("ja"):
                    error = str(problem)
                status = 400
            else:
                return redirect(_sent_address(request))
    elif request.method == "POST":  # a field over its limit: only a robot sends that
        with translation.override("ja"):
            error = str(translation.gettext("Please check what you wrote and send it again."))
        status = 400
    elif request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    response = _public(
        request,
        "qa/ask.html",
        {"form": form, "error": error, "max": services.QUESTION_MAX},
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _sent_address(request: HttpRequest) -> str:
    grade = grade_from(request)
    base = reverse("qa:sent")
    return (
        base if grade == DEFAULT_GRADE else f"{base}?{urlencode({GRADE_PARAM: grade_param(grade)})}"
    )


@require_safe
def sent(request: HttpRequest) -> HttpResponse:
    return _public(request, "qa/sent.html", {"open_lines": _open_lines()})


# --- Staff pages ------------------------------------------------------------------------


@login_required
def staff_list(request: HttpRequest) -> HttpResponse:
    if not view_qa_question.test(request.user):
        raise Http404
    queue = request.GET.get("queue", "todo")
    if queue not in selectors.QUEUES:
        queue = "todo"
    questions = list(selectors.question_queue(request.user, queue)[:200])
    return render(
        request,
        "qa/staff_list.html",
        {
            "queue": queue,
            "queues": list(selectors.QUEUES),
            "questions": questions,
            "corner": services.corner_name(),
        },
    )


def _detail_context(request: HttpRequest, question: Question, **extra: Any) -> dict[str, Any]:
    user = request.user
    flags = list(question.flags.all())
    editable = question.status in services.EDITABLE and draft_qa_answer.test(user)
    context: dict[str, Any] = {
        "question": question,
        "flags": flags,
        "open_flags": [f for f in flags if f.state == FlagState.OPEN],
        "editable": editable,
        "can_approve": approve_qa_answer.test(user)
        and question.status == Status.REVIEW
        and question.drafted_by_id != user.pk,
        "can_unpublish": approve_qa_answer.test(user) and question.status == Status.PUBLISHED,
        "can_close": approve_qa_answer.test(user)
        and question.status not in (Status.PUBLISHED, Status.CLOSED),
        "can_resolve_flags": approve_qa_answer.test(user),
        "can_review_risk": review_qa_risk.test(user) and question.at_risk,
        "blockers": services.publish_blockers(question) if question.status == Status.REVIEW else [],
        "draft_form": DraftForm(
            initial={
                "category": question.category,
                "rewrite": question.rewrite or "",
                "answer": question.answer or "",
            }
        ),
        "comment_form": CommentForm(),
        "risk_form": RiskReviewForm(),
        "error": "",
    }
    context.update(extra)
    return context


def _question(request: HttpRequest, pk: int, reason: str) -> Question:
    return selectors.question_for_reading(request.user, pk, reason=reason)


@login_required
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Read the question (audited), and save or send the draft (drafters)."""
    question = _question(request, pk, "qa.draft" if request.method == "POST" else "")
    if request.method != "POST":
        return render(request, "qa/staff_detail.html", _detail_context(request, question))
    if not draft_qa_answer.test(request.user):
        raise Http404
    form = DraftForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.qa_draft_save(
                actor=request.user,
                question=question,
                category=form.cleaned_data["category"],
                rewrite=form.cleaned_data["rewrite"],
                answer=form.cleaned_data["answer"],
            )
            if request.POST.get("action") == "submit":
                services.qa_submit(actor=request.user, question=question)
        except services.QaError as problem:
            error = str(problem)
        else:
            return redirect("qa:staff_detail", pk=question.pk)
    question.refresh_from_db()
    return render(
        request,
        "qa/staff_detail.html",
        _detail_context(request, question, draft_form=form, error=error),
        status=400,
    )


def _after(request: HttpRequest, question: Question, call: Any, **extra: Any) -> HttpResponse:
    try:
        call()
    except services.QaError as problem:
        question.refresh_from_db()
        return render(
            request,
            "qa/staff_detail.html",
            _detail_context(request, question, error=str(problem), **extra),
            status=400,
        )
    return redirect("qa:staff_detail", pk=question.pk)


@login_required
@require_POST
def staff_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve (publish), return with a comment, close, or unpublish (approvers)."""
    question = _question(request, pk, "qa.decide")
    if not approve_qa_answer.test(request.user, question):
        raise Http404
    action = request.POST.get("action", "")
    user = request.user
    if action == "approve":
        return _after(request, question, lambda: services.qa_approve(actor=user, question=question))
    if action == "return":
        form = CommentForm(request.POST)
        comment = form.data.get("comment", "")
        return _after(
            request,
            question,
            lambda: services.qa_return(actor=user, question=question, comment=comment),
            comment_form=form,
        )
    if action == "close":
        return _after(request, question, lambda: services.qa_close(actor=user, question=question))
    if action == "unpublish":
        return _after(
            request, question, lambda: services.qa_unpublish(actor=user, question=question)
        )
    raise Http404


@login_required
@require_POST
def staff_flag(request: HttpRequest, pk: int, flag_pk: int) -> HttpResponse:
    """Mark a personal-data flag "not personal" (approvers; audited)."""
    question = _question(request, pk, "qa.flag")
    if not approve_qa_answer.test(request.user, question):
        raise Http404
    flag = question.flags.filter(pk=flag_pk).first()
    if flag is None:
        raise Http404
    services.qa_flag_dismiss(actor=request.user, flag=flag, reason=request.POST.get("reason", ""))
    return redirect("qa:staff_detail", pk=question.pk)


@login_required
@require_POST
def staff_risk(request: HttpRequest, pk: int) -> HttpResponse:
    """Record what was done about a risky question (supervisors)."""
    question = _question(request, pk, "qa.risk")
    if not review_qa_risk.test(request.user, question):
        raise Http404
    form = RiskReviewForm(request.POST)
    note = form.data.get("note", "")
    return _after(
        request,
        question,
        lambda: services.qa_risk_review(actor=request.user, question=question, note=note),
        risk_form=form,
    )
