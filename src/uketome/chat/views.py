"""Chat pages: the child's /chat/ (and the start of a conversation), the staff console,
the transcript and the contact record form pre-filled from a chat."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from uketome.chat import selectors, services
from uketome.chat.models import CannedPhrase, Conversation
from uketome.core import ratelimit
from uketome.core.dates import TOKYO
from uketome.core.permissions import add_contact, take_chat, use_chat_console
from uketome.helpline import services as contact_services
from uketome.helpline.forms import DATETIME_FORMAT, ContactForm
from uketome.helpline.hours import Schedule, closes_at, next_opening, open_now
from uketome.helpline.models import Channel, Contact, Line, TermKind
from uketome.helpline.selectors import contacts_visible_to
from uketome.helpline.taxonomy import current_version, terms
from uketome.portal.guard import child_form
from uketome.portal.selectors import line_statuses

# The pre-chat choices, in the children's words; the codes are the taxonomy's.
AGE_CHOICES = [
    ("lower_elementary", gettext_lazy("Elementary school, grades 1-3")),
    ("upper_elementary", gettext_lazy("Elementary school, grades 4-6")),
    ("junior_high", gettext_lazy("Junior high school")),
    ("age_15_18", gettext_lazy("High school age (15-18)")),
    ("unknown", gettext_lazy("I'd rather not say")),
]
GENDER_CHOICES = [
    ("girl", gettext_lazy("Girl")),
    ("boy", gettext_lazy("Boy")),
    ("other_or_no_answer", gettext_lazy("Other, or I'd rather not say")),
]
TOPIC_CHIPS = [
    ("family", gettext_lazy("Family")),
    ("school", gettext_lazy("School")),
    ("friend_trouble", gettext_lazy("Friends")),
    ("bullying", gettext_lazy("Bullying")),
    ("romance", gettext_lazy("Love")),
    ("body", gettext_lazy("My body")),
    ("mind", gettext_lazy("My feelings")),
    ("study", gettext_lazy("Study")),
    ("chat", gettext_lazy("Just talk")),
]
WAIT_TOO_LONG_MINUTES = 10


def _chat_line(request: HttpRequest) -> Line | None:
    lines = services.chat_lines()
    wanted = request.GET.get("line") or request.POST.get("line") or ""
    if wanted:
        return next((line for line in lines if line.slug == wanted), None)
    return lines[0] if lines else None


def _child_strings() -> dict[str, str]:
    """Every word the child's script shows (the script has none of its own), in Japanese
    as the page is (a staff member's language cookie on the same device changes nothing)."""
    with translation.override("ja"):
        return _child_words()


def _child_words() -> dict[str, str]:
    return {
        "connecting": _("Connecting..."),
        "offline": _(
            "The connection is lost. We are trying again. What you write will be sent when it is back."  # noqa: E501
        ),
        "back": _("Connected again."),
        "waiting": _("Please wait a little. A listener will come soon."),
        "position": _("You are number %(n)s in line."),
        "estimate": _("It may take about %(m)s minutes. This is only a rough guess."),
        "no_estimate": _("We cannot say how long it will take."),
        "too_long": _("If you cannot wait, you can also talk here:"),
        "active": _("A listener is here. You can write now."),
        "you": _("You"),
        "listener": _("Listener"),
        "notice": _("Notice"),
        "sending": _("sending"),
        "typing": _("The listener is writing..."),
        "end_confirm": _("Do you want to end the chat?"),
        "leave_confirm": _("If you leave this page, the chat ends. Do you want to leave?"),
        "ended": _("The chat has ended."),
        "start_failed": _("The chat could not start. Please try again."),
        "closed": _("The chat is closed now."),
        "left_over": _("Not sent (%(n)s). You can write it again in a new chat:"),
    }


def _render_child(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    with translation.override("ja"):
        response = render(request, template, context)
    response.headers["Content-Language"] = "ja"
    response.headers["Cache-Control"] = "no-store"
    return response


def chat_page(request: HttpRequest) -> HttpResponse:
    """The child's chat page: promises, pre-chat, queue, the chat; or when it opens."""
    line = _chat_line(request)
    now = timezone.now()
    statuses = line_statuses(now)
    others = [s for s in statuses if s.is_open and (line is None or s.line.pk != line.pk)]
    is_open = opening = closing = None
    if line is not None:
        schedule = Schedule.of(line, now)
        is_open = open_now(schedule, now)
        closing = closes_at(schedule, now) if is_open else None
        opening = None if is_open else next_opening(schedule, now)
    return _render_child(
        request,
        "chat/child.html",
        {
            "line": line,
            "is_open": bool(is_open),
            "closes_at": closing,
            "next_opening": opening,
            "others": others,
            "age_choices": AGE_CHOICES,
            "gender_choices": GENDER_CHOICES,
            "topic_chips": TOPIC_CHIPS,
            "strings": _child_strings(),
            "wait_too_long": WAIT_TOO_LONG_MINUTES,
            "max_chars": services.MAX_CHARS,
        },
    )


def _json_error(code: str, message: str, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": code, "message": message, **extra}, status=status)


@child_form
@require_POST
def chat_start(request: HttpRequest) -> HttpResponse:
    """Start a conversation; answer its id and secret token (JSON)."""
    with translation.override("ja"):
        line = _chat_line(request)
        if line is None:
            return _json_error("bad_request", _("This line does not take chats."), 400)
        if not ratelimit.allow("chat-start", ratelimit.visitor(request), limit=6, window=600):
            return _json_error(
                "too_many", _("Too many chats were started. Please wait a few minutes."), 429
            )
        age = request.POST.get("age_band", "")
        gender = request.POST.get("gender", "")
        topics = request.POST.getlist("topics")
        if (
            (age and age not in dict(AGE_CHOICES))
            or (gender and gender not in dict(GENDER_CHOICES))
            or any(t not in dict(TOPIC_CHIPS) for t in topics)
            or len(topics) > services.MAX_TOPICS
        ):
            return _json_error("bad_request", _("Please choose from the list."), 400)
        try:
            conversation, token = services.conversation_start(
                line=line, age_band=age, gender=gender, topics=topics
            )
        except services.ChatError as error:
            if error.code == "closed":
                opening = next_opening(Schedule.of(line, timezone.now()), timezone.now())
                return _json_error(
                    "closed",
                    error.message,
                    409,
                    next_opening=opening.isoformat() if opening else None,
                )
            return _json_error(error.code, error.message, 400)
    response = JsonResponse(
        {"conversation": conversation.pk, "token": token, "socket": "/ws/chat/"}, status=201
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# --- staff ---------------------------------------------------------------------------------


@login_required
def alive(request: HttpRequest) -> HttpResponse:
    """The console renews the sign-in here while the listener works in it (its socket does
    not: a reconnect after the idle time would be refused). 204, or the sign-in page's
    redirect when the sign-in has expired (the console then says so)."""
    if not use_chat_console.test(request.user):
        raise Http404
    return HttpResponse(status=204)


@login_required
def console(request: HttpRequest) -> HttpResponse:
    """The staff console: the live queue, one's chats, supervision."""
    if not use_chat_console.test(request.user):
        raise Http404
    phrases: dict[int, list[str]] = {}
    for phrase in CannedPhrase.objects.all():
        phrases.setdefault(phrase.line_id, []).append(phrase.text)
    lines = {line.pk: line.name for line in services.chat_lines()}
    strings = {
        "queue_empty": _("Nobody is waiting."),
        "waiting": _("waiting %(m)s min"),
        "queue_more": _("and %(n)s more waiting"),
        "take": _("Take this chat"),
        "watch": _("Watch"),
        "take_over": _("Take over"),
        "transfer": _("Transfer"),
        "end": _("End chat"),
        "end_confirm": _("End this chat?"),
        "send": _("Send"),
        "note": _("Private note"),
        "whisper": _("Whisper to the listener"),
        "child": _("Child"),
        "listener": _("Listener"),
        "system": _("Notice"),
        "note_label": _("Note"),
        "whisper_label": _("Whisper"),
        "typing": _("The child is writing..."),
        "offline": _("Connection lost. Reconnecting..."),
        "online": _("Connected."),
        "ended": _("The chat has ended."),
        "released": _("This chat was handed to %(name)s."),
        "released_gone": _("This chat is no longer yours."),
        "watch_ended": _("This chat moved to another site: you no longer watch it."),
        "released_returned": _(
            "Your console was not connected for a while, so this chat went back to the queue "
            "for the next listener."
        ),
        "watch_returned": _("This chat went back to the queue: you no longer watch it."),
        "warned": _("The child was warned about inactivity."),
        "closing": _("The line closes in a few minutes."),
        "alert": _("High risk in chat #%(id)s"),
        "risk": _("Risk"),
        "record": _("Record the contact"),
        "watching": _("Watching (read-only)"),
        "active_chats": _("chats"),
        "transfer_to": _("Transfer to"),
        "sending": _("sending"),
        "transfer_confirm": _("Hand this chat to %(name)s?"),
        "console_closed": _("(console not open)"),
        "dismiss": _("Dismiss"),
        "signed_out": _("Your sign-in has expired: the console cannot reconnect."),
        "sign_in_again": _("Sign in again (in a new tab; this console keeps your chats)"),
    }
    return render(
        request,
        "chat/console.html",
        {
            "phrases": {str(k): v for k, v in phrases.items()},
            "lines": {str(k): v for k, v in lines.items()},
            "strings": strings,
            "targets": selectors.transfer_targets(request.user),
            "can_take": take_chat.test(request.user),
            "idle_seconds": settings.SESSION_COOKIE_AGE,
        },
    )


@login_required
def transcript(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = selectors.transcript_for_reading(
        request.user, pk, reason=request.GET.get("why", "")
    )
    # The contact record is linked only for those who may read it.
    contact = (
        contacts_visible_to(request.user)
        .filter(source_kind="chat", source_id=conversation.pk)
        .first()
    )
    return render(
        request,
        "chat/transcript.html",
        {
            "conversation": conversation,
            "messages": selectors.transcript(conversation),
            "contact": contact,
        },
    )


def _initial(conversation: Conversation) -> dict[str, Any]:
    start = conversation.claimed_at or conversation.started_at
    end = conversation.ended_at or timezone.now()
    minutes = max(0, round((end - start) / timedelta(minutes=1)))
    version = current_version()
    topic_codes = set(terms(version, TermKind.TOPIC).values_list("code", flat=True))
    return {
        "line": conversation.line_id,
        "channel": Channel.CHAT,
        "started_at": timezone.localtime(start, TOKYO).strftime(DATETIME_FORMAT),
        "started_at_auto": False,
        "minutes": minutes,
        "age_band": conversation.age_band or None,
        "gender": conversation.gender or None,
        "topics": [t for t in conversation.topics if t in topic_codes],
        "risk_level": conversation.risk,
        "outcome": "conversation" if conversation.claimed_at else None,
        "repeat": "unknown",
    }


@login_required
def record(request: HttpRequest, pk: int) -> HttpResponse:
    """The contact record form pre-filled from the chat (line, channel, times, duration,
    pre-chat answers, risk); the saved contact links the transcript (source chat/id)."""
    if not add_contact.test(request.user):
        raise Http404
    conversation = (
        selectors.transcripts_visible_to(request.user).select_related("line").filter(pk=pk).first()
    )
    if conversation is None:
        raise Http404
    existing = Contact.objects.filter(source_kind="chat", source_id=conversation.pk).first()
    if existing is not None:
        return redirect(reverse("helpline:contact_detail", args=[existing.pk]))
    version = current_version()
    initial = _initial(conversation)
    form = ContactForm(request.POST or None, initial=initial, version=version)
    if request.method == "POST" and form.is_valid():
        user: Any = request.user
        try:
            contact = contact_services.contact_record(
                actor=user,
                data=form.contact_data(
                    site=conversation.site or services.home_site(user),
                    listener=conversation.listener or user,
                    source_kind="chat",
                    source_id=conversation.pk,
                ),
            )
        except contact_services.ContactError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            url = reverse("helpline:contact_detail", args=[contact.pk]) + "?saved=1"
            if request.headers.get("Accept", "").startswith("application/json"):
                return JsonResponse({"ok": True, "url": url, "id": contact.pk})
            return redirect(url)
    if request.method == "POST" and request.headers.get("Accept", "").startswith(
        "application/json"
    ):
        return JsonResponse(
            {"ok": False, "errors": {k: [str(e) for e in v] for k, v in form.errors.items()}},
            status=400,
        )
    picked = (
        set(request.POST.getlist("topics")) if request.method == "POST" else set(initial["topics"])
    )
    topic_options = [(t, t.code in picked) for t in terms(version, TermKind.TOPIC)]
    # The draft key keeps a phone-log draft from being restored over this pre-filled form
    # (and this one over the next chat's).
    return render(
        request,
        "helpline/contact_form.html",
        {
            "form": form,
            "topic_options": topic_options,
            "from_chat": conversation,
            "draft_key": f"chat-record-{conversation.pk}",
        },
        status=400 if form.errors else 200,
    )
