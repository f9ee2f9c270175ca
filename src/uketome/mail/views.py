"""Children's letters (/mail/) and the staff pages (/staff/mail/).

The children's pages set no cookie and keep nothing on the device. The secret never goes
into an address: the child posts the number and the secret, and the thread page is the
answer to that post. Writing again carries a short-lived signed token in a hidden field
(it names the thread and expires after ``TOKEN_MINUTES``); with an expired token the
child enters the number and secret again, and what they wrote is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from uketome.core import ratelimit
from uketome.core.audit import audit_record
from uketome.core.permissions import (
    Rule,
    approve_reply,
    claim_letter,
    draft_reply,
    finish_thread,
    view_letters,
)
from uketome.helpline.hours import weekly_summary
from uketome.mail import selectors, services
from uketome.mail.forms import FinishForm, LetterForm, ReadForm, ReplyForm, ReviewForm, child_topics
from uketome.mail.models import Author, LetterThread, ReplyState, ThreadStatus
from uketome.portal.guard import child_form

manage_mail_settings = Rule.registry["mail.change_mailsettings"]
TOKEN_SALT = "uketome.mail.thread"  # noqa: S105 - a signing namespace, not a password
TOKEN_MINUTES = 60
# Letters sent per visitor (first letters and letters written again) in SEND_WINDOW.
SEND_LIMIT = 5
SEND_WINDOW = 10 * 60
# Wrong number/secret pairs per visitor in WRONG_WINDOW, over all letter numbers.
WRONG_LIMIT = 20
WRONG_WINDOW = 60 * 60


# --- The children's side --------------------------------------------------------------


def _child_page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    # Children's pages are always in Japanese; nothing of them is kept by the browser.
    with translation.override("ja"):
        response = render(request, template, context, status=status)
    response.headers["Content-Language"] = "ja"
    response.headers["Cache-Control"] = "no-store"
    return response


def _token_for(thread: LetterThread) -> str:
    return signing.TimestampSigner(salt=TOKEN_SALT).sign_object({"t": thread.pk})


def _thread_from_token(token: str) -> LetterThread | None:
    try:
        data = signing.TimestampSigner(salt=TOKEN_SALT).unsign_object(
            token, max_age=TOKEN_MINUTES * 60
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    pk = data.get("t") if isinstance(data, dict) else None
    if not isinstance(pk, int):
        return None
    return LetterThread.objects.select_related("line").filter(pk=pk).first()


def _expectation(thread: LetterThread) -> dict[str, Any]:
    line = thread.line
    return {
        "due_at": services.reply_due(line, thread.waiting_since),
        "target_hours": line.reply_target_hours,
        "target_days": (line.reply_target_hours or 0) // 24
        if line.reply_target_hours and line.reply_target_hours % 24 == 0
        else None,
        "hours": [] if line.always_open else weekly_summary(line),
    }


def _flooded(request: HttpRequest) -> bool:
    return (
        ratelimit.count("mail-send", ratelimit.visitor(request), window=SEND_WINDOW) >= SEND_LIMIT
    )


def _count_send(request: HttpRequest) -> None:
    ratelimit.allow("mail-send", ratelimit.visitor(request), limit=SEND_LIMIT, window=SEND_WINDOW)


FLOOD_MESSAGE = gettext_lazy(
    "Many letters were sent from here in a short time. Please wait a little and send "
    "it again. What you wrote is still here."
)


def _in_japanese(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Children's pages and their messages are always in Japanese, whatever a staff
    member chose on this device."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with translation.override("ja"):
            return view(request, *args, **kwargs)

    return wrapped


@child_form
@_in_japanese
@require_http_methods(["GET", "POST"])
def write(request: HttpRequest) -> HttpResponse:
    """Write a letter. On sending: the letter number and the secret, shown once."""
    lines = services.mail_lines()
    topics = child_topics()
    form = LetterForm(request.POST or None, topics=topics, initial={"client_ref": uuid.uuid4()})
    allowed = {line.pk: services.settings_for(line).notification_allowed for line in lines}
    context: dict[str, Any] = {
        "form": form,
        "lines": lines,
        "topics": topics,
        "notification_allowed": any(allowed.values()),
        "max_chars": services.MAX_LETTER_CHARS,
        "error": "",
    }
    if not lines:
        return _child_page(request, "mail/closed.html", context)
    if request.method != "POST":
        return _child_page(request, "mail/write.html", context)
    if not form.is_valid():
        context["error"] = _("Something in the form is not right. Please check it.")
        return _child_page(request, "mail/write.html", context, status=400)
    data = form.cleaned_data
    line = next((ln for ln in lines if ln.pk == data.get("line")), lines[0])
    context["chosen_line"] = line.pk
    if _flooded(request):
        context["error"] = str(FLOOD_MESSAGE)
        return _child_page(request, "mail/write.html", context, status=429)
    try:
        sent = services.letter_send(
            data=services.NewLetter(
                line=line,
                body=data["body"],
                age_band=data["age_band"],
                gender=data["gender"],
                topics=tuple(data["topics"]),
                notify_address=data["notify_address"] if data.get("notify") else "",
                client_ref=data.get("client_ref"),
            )
        )
    except services.AlreadySent:
        return _child_page(request, "mail/already_sent.html", context)
    except services.MailError as error:
        context["error"] = str(error)
        context["error_field"] = error.field
        return _child_page(request, "mail/write.html", context, status=400)
    _count_send(request)
    return _child_page(
        request,
        "mail/sent.html",
        {"thread": sent.thread, "secret": sent.secret, **_expectation(sent.thread)},
    )


def _thread_page(
    request: HttpRequest,
    thread: LetterThread,
    *,
    notice: str = "",
    error: str = "",
    body: str = "",
    status: int = 200,
) -> HttpResponse:
    return _child_page(
        request,
        "mail/thread.html",
        {
            "thread": thread,
            "letters": selectors.letters_for_child(thread),
            "token": _token_for(thread),
            "client_ref": uuid.uuid4(),
            "notice": notice,
            "error": error,
            "body": body,
            "closed": thread.status == ThreadStatus.CLOSED,
            "max_chars": services.MAX_LETTER_CHARS,
            **_expectation(thread),
        },
        status=status,
    )


def _unlock(request: HttpRequest, number: str, secret: str) -> tuple[LetterThread | None, str]:
    """The thread for number and secret, or None and a kind message. Wrong tries count
    per visitor (all numbers together) and per number (which then locks)."""
    visitor = ratelimit.visitor(request)
    if ratelimit.count("mail-wrong", visitor, window=WRONG_WINDOW) >= WRONG_LIMIT:
        return None, _("You tried many times. Please wait a while (about an hour) and try again.")
    try:
        return services.thread_unlock(number=number, secret=secret), ""
    except services.MailError as error:
        if isinstance(error, services.WrongKey):
            ratelimit.allow("mail-wrong", visitor, limit=WRONG_LIMIT, window=WRONG_WINDOW)
        return None, str(error)


@child_form
@_in_japanese
@require_http_methods(["GET", "POST"])
def read(request: HttpRequest) -> HttpResponse:
    """Enter the number and the secret; the answer is the thread (only this thread)."""
    form = ReadForm(request.POST or None)
    if request.method != "POST":
        return _child_page(request, "mail/read.html", {"form": form, "error": ""})
    number = request.POST.get("number", "")[:40]
    secret = request.POST.get("secret", "")[:200]
    if not number.strip() or not secret.strip():
        return _child_page(
            request,
            "mail/read.html",
            {"form": form, "error": _("Please write both the letter number and the secret words.")},
            status=400,
        )
    thread, error = _unlock(request, number, secret)
    if thread is None:
        return _child_page(request, "mail/read.html", {"form": form, "error": error}, status=400)
    return _thread_page(request, thread)


def _uuid_or_none(request: HttpRequest) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.POST.get("client_ref", ""))
    except ValueError:
        return None


@child_form
@_in_japanese
@require_POST
def write_again(request: HttpRequest) -> HttpResponse:
    """A letter in the same thread. Proof: the signed token from the thread page, or (when
    it ran out) the number and the secret again."""
    body = request.POST.get("body", "")
    thread = _thread_from_token(request.POST.get("token", ""))
    if thread is None:
        number = request.POST.get("number", "")[:40]
        secret = request.POST.get("secret", "")[:200]
        error = _(
            "Time ran out, so please write your letter number and secret words once more. "
            "Your letter is kept below."
        )
        if number.strip() and secret.strip():
            thread, error = _unlock(request, number, secret)
        if thread is None:
            form = ReadForm(request.POST)
            return _child_page(
                request,
                "mail/unlock_to_send.html",
                {"form": form, "error": error, "body": body},
                status=400,
            )
    if _flooded(request):
        return _thread_page(request, thread, error=str(FLOOD_MESSAGE), body=body, status=429)
    try:
        services.letter_add(thread=thread, body=body, client_ref=_uuid_or_none(request))
    except services.MailError as error:
        return _thread_page(request, thread, error=str(error), body=body, status=400)
    _count_send(request)
    thread.refresh_from_db()
    return _thread_page(
        request, thread, notice=_("Your letter was sent. Thank you for writing to us.")
    )


# --- Staff ----------------------------------------------------------------------------


def _now() -> datetime:
    return timezone.now()


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    if not view_letters.test(request.user):
        raise Http404
    now = _now()
    rows = selectors.waiting_queue(request.user, now)
    by_line: dict[str, list[selectors.QueueRow]] = {}
    for row in rows:
        by_line.setdefault(row.thread.line.name, []).append(row)
    return render(
        request,
        "mail/staff_queue.html",
        {
            "by_line": list(by_line.items()),
            "mine": selectors.my_threads(request.user, now),
            "to_approve": list(selectors.replies_to_approve(request.user)[:100]),
            "can_approve": approve_reply.test(request.user),
            "answered_nowhere": selectors.lines_answered_nowhere()
            if manage_mail_settings.test(request.user)
            else [],
            "now": now,
        },
    )


def _visible_or_404(request: HttpRequest, pk: int) -> LetterThread:
    thread = selectors.threads_visible_to(request.user).select_related("line").filter(pk=pk).first()
    if thread is None:
        audit_record(actor=request.user, action="letter.open_denied", data={"thread": pk})
        raise Http404
    return thread


@login_required
def thread_detail(request: HttpRequest, pk: int) -> HttpResponse:
    thread = selectors.thread_for_reading(request.user, pk, reason=request.GET.get("why", ""))
    return _render_thread(request, thread)


def _render_thread(
    request: HttpRequest,
    thread: LetterThread,
    *,
    reply_body: str | None = None,
    review: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The staff page of a thread (already read through the selector, so audited);
    after an error, with what was typed kept."""
    user: Any = request.user
    letters = selectors.letters_for_staff(thread)
    reply = next(
        (
            letter
            for letter in letters
            if letter.author == Author.STAFF
            and letter.state in (ReplyState.DRAFT, ReplyState.SUBMITTED, ReplyState.RETURNED)
        ),
        None,
    )
    can_draft = (
        thread.status != ThreadStatus.CLOSED
        and draft_reply.test(user, thread)
        and (reply is None or reply.state != ReplyState.SUBMITTED)
    )
    can_review = (
        reply is not None
        and reply.state == ReplyState.SUBMITTED
        and reply.drafted_by_id != user.pk
        and approve_reply.test(user, thread)
    )
    now = _now()
    due = services.reply_due(thread.line, thread.waiting_since)
    current = reply.body if reply is not None and reply.body else ""
    return render(
        request,
        "mail/staff_thread.html",
        {
            "thread": thread,
            "letters": letters,
            "reply": reply,
            "topics": thread.topics.all(),
            "can_claim": claim_letter.test(user, thread) and thread.status != ThreadStatus.CLOSED,
            "can_draft": can_draft,
            "can_review": can_review,
            "can_finish": thread.status != ThreadStatus.CLOSED and finish_thread.test(user, thread),
            "reply_form": ReplyForm(
                initial={"body": current if reply_body is None else reply_body}
            ),
            "review_form": ReviewForm(initial=review or {"body": current}),
            "finish_form": FinishForm(initial={"risk_level": thread.risk_level_id}),
            "due_at": due,
            "overdue": due is not None and now > due,
        },
        status=status,
    )


@login_required
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    if selectors.taken_by_someone_else(request.user, pk):
        messages.error(request, _("Someone else has already taken this letter."))
        return redirect("mail:queue")
    thread = _visible_or_404(request, pk)
    if not claim_letter.test(request.user, thread):
        messages.error(request, _("Someone else has already taken this letter."))
        return redirect("mail:queue")
    if services.thread_claim(actor=request.user, thread=thread):
        messages.success(request, _("You took this letter. Write the reply below."))
        return redirect("mail:thread", pk=pk)
    messages.error(request, _("Someone else has already taken this letter."))
    return redirect("mail:queue")


@login_required
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    thread = _visible_or_404(request, pk)
    if not draft_reply.test(request.user, thread):
        audit_record(actor=request.user, action="letter.open_denied", data={"thread": pk})
        raise Http404
    form = ReplyForm(request.POST)
    form.is_valid()
    submit = request.POST.get("action") == "submit"
    try:
        services.reply_save(
            actor=request.user, thread=thread, body=form.cleaned_data.get("body", ""), submit=submit
        )
    except services.MailError as error:
        messages.error(request, str(error))
        thread = selectors.thread_for_reading(request.user, pk)
        return _render_thread(
            request, thread, reply_body=form.cleaned_data.get("body", ""), status=400
        )
    messages.success(request, _("Sent for approval.") if submit else _("The draft is saved."))
    return redirect("mail:thread", pk=pk)


@login_required
@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    thread = _visible_or_404(request, pk)
    if not approve_reply.test(request.user, thread):
        audit_record(actor=request.user, action="letter.open_denied", data={"thread": pk})
        raise Http404
    pending = services.open_reply(thread)
    if pending is None:
        raise Http404
    form = ReviewForm(request.POST)
    form.is_valid()
    approve = request.POST.get("action") == "approve"
    body = form.cleaned_data.get("body", "")
    try:
        services.reply_review(
            actor=request.user,
            reply=pending,
            approve=approve,
            body=body,
            comment=form.cleaned_data.get("comment", ""),
        )
    except services.MailError as error:
        messages.error(request, str(error))
        thread = selectors.thread_for_reading(request.user, pk)
        return _render_thread(
            request,
            thread,
            review={"body": body, "comment": form.cleaned_data.get("comment", "")},
            status=400,
        )
    messages.success(
        request,
        _("Approved: the child can read the reply now.")
        if approve
        else _("Returned to the listener with your comment."),
    )
    return redirect("mail:thread", pk=pk)


@login_required
@require_POST
def finish(request: HttpRequest, pk: int) -> HttpResponse:
    thread = _visible_or_404(request, pk)
    if not finish_thread.test(request.user, thread):
        audit_record(actor=request.user, action="letter.open_denied", data={"thread": pk})
        raise Http404
    form = FinishForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a risk level from the list."))
        return redirect("mail:thread", pk=pk)
    try:
        contact = services.thread_finish(
            actor=request.user,
            thread=thread,
            summary=form.cleaned_data["summary"],
            risk_level=form.cleaned_data["risk_level"],
        )
    except services.MailError as error:
        messages.error(request, str(error))
        return redirect("mail:thread", pk=pk)
    messages.success(
        request, _("The thread is finished and recorded as contact %(id)s.") % {"id": contact.pk}
    )
    return redirect("mail:thread", pk=pk)
