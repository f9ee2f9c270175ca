"""Reads of live chat, scoped by the permission rules (core/permissions.py, "Live chat")."""

from __future__ import annotations

import hmac
import logging
import math
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from uketome.accounts.models import Membership
from uketome.accounts.roles import Role
from uketome.chat.hub import consoles_open
from uketome.chat.models import CHILD_VISIBLE, RISK_CODES, Conversation, Message, Status
from uketome.chat.services import _iso, _name, item_event, settings_for, token_hash
from uketome.core.audit import audit_record
from uketome.core.models import AuditEntry
from uketome.core.permissions import Rule, scope_of, view_chat, watch_chat
from uketome.helpline.hours import Schedule, closes_at, current_period
from uketome.helpline.models import Line

logger = logging.getLogger(__name__)

ESTIMATE_WINDOW = timedelta(minutes=60)


def conversation_for_child(conversation_id: Any, token: Any) -> Conversation | None:
    """The conversation that ``token`` opens, or None (same answer whether it exists)."""
    if not isinstance(conversation_id, int) or not isinstance(token, str) or not token:
        return None
    found = Conversation.objects.filter(pk=conversation_id).first()
    if found is None or not hmac.compare_digest(found.token_hash, token_hash(token)):
        return None
    return found


def newest_seq_for_child(conversation_id: int) -> int:
    """The newest sequence number the child may see (notes and whispers skipped)."""
    newest = (
        Message.objects.filter(conversation_id=conversation_id, sender__in=CHILD_VISIBLE)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    return newest or 0


def items_between(
    conversation_id: int, after: int, upto: int | None = None, *, child: bool
) -> list[dict[str, Any]]:
    """Items with ``after < seq <= upto`` as events, oldest first (what a side may see)."""
    queryset = Message.objects.filter(conversation_id=conversation_id, seq__gt=after)
    if upto is not None:
        queryset = queryset.filter(seq__lte=upto)
    if child:
        queryset = queryset.filter(sender__in=CHILD_VISIBLE)
    else:
        queryset = queryset.select_related("author")
    return [
        item_event(m, author="" if child else _name(m.author)) for m in queryset.order_by("seq")
    ]


def summary(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "line": conversation.line_id,
        "line_name": conversation.line.name,
        "status": conversation.status,
        "started_at": _iso(conversation.started_at),
        "claimed_at": _iso(conversation.claimed_at) if conversation.claimed_at else None,
        "listener": _name(conversation.listener) or None,
        "listener_id": conversation.listener_id,
        "age_band": conversation.age_band,
        "gender": conversation.gender,
        "topics": conversation.topics,
        "risk": conversation.risk,
        "risk_rank": conversation.risk_rank,
        "last_seq": conversation.last_seq,
    }


def active_for_listener(user: Any) -> list[Conversation]:
    return list(
        Conversation.objects.filter(listener=user, status=Status.ACTIVE)
        .select_related("line", "listener")
        .order_by("claimed_at")
    )


def ended_with_listener(user: Any, conversation_ids: list[int]) -> list[Conversation]:
    """Which of ``conversation_ids`` ended with ``user`` as their listener (a console that
    comes back gets their end, and the contact record to fill in)."""
    return list(
        Conversation.objects.filter(pk__in=conversation_ids, listener=user, status=Status.ENDED)
    )


def returned_from(user: Any, conversation_ids: list[int]) -> set[int]:
    """Which of ``conversation_ids`` went back to the queue from ``user`` (no console of
    theirs was open: ``services.conversation_return``), whoever has them now."""
    entries = AuditEntry.objects.filter(
        action="chat.returned",
        target_type=Conversation._meta.label_lower,
        target_id__in=[str(i) for i in conversation_ids],
        data__from=user.pk,
    )
    return {int(i) for i in entries.values_list("target_id", flat=True)}


def live_conversation_for(user: Any, conversation_id: Any, rule: Rule) -> Conversation | None:
    """A live chat on which ``rule`` (watch, take over, transfer) lets ``user`` act, or None."""
    if not isinstance(conversation_id, int):
        return None
    queryset = Conversation.objects.select_related("line", "listener").filter(
        pk=conversation_id, status=Status.ACTIVE
    )
    return rule.filter(user, queryset).first()


def conversation_to_watch(user: Any, conversation_id: Any) -> Conversation | None:
    """A live chat ``user`` may watch (supervise), or None; watching is audited."""
    found = live_conversation_for(user, conversation_id, watch_chat)
    if found is not None:
        audit_record(actor=user, action="chat.watched", target=found)
    return found


def conversation_by_id(conversation_id: int) -> Conversation:
    return Conversation.objects.select_related("line", "listener").get(pk=conversation_id)


def follow_state(
    conversation_id: int, after: int, child: bool
) -> tuple[Conversation, list[dict[str, Any]]]:
    """The conversation now and the items after ``after`` that this side may see."""
    conversation = conversation_by_id(conversation_id)
    return conversation, items_between(conversation_id, after, conversation.last_seq, child=child)


def queue_position(conversation: Conversation) -> int:
    """1 for the next child to be answered on the line (risk first, then waiting time)."""
    ahead = Conversation.objects.filter(line_id=conversation.line_id, status=Status.WAITING).filter(
        Q(risk_rank__gt=conversation.risk_rank)
        | Q(risk_rank=conversation.risk_rank, started_at__lt=conversation.started_at)
        | Q(
            risk_rank=conversation.risk_rank,
            started_at=conversation.started_at,
            pk__lt=conversation.pk,
        )
    )
    return ahead.count() + 1


def estimate_minutes(line_id: int, position: int, now: datetime) -> int | None:
    """An honest guess of the wait at ``position``: at the pace chats were answered lately.
    None when nobody was answered (then we cannot say)."""
    return _estimate(minutes_per_chat(line_id, now), position)


def minutes_per_chat(line_id: int, now: datetime) -> float | None:
    """The minutes between chats answered on the line in the last hour, or since it opened
    if that was later (at 16:10 on a line open since 16:00, six answered is one every 100 s,
    not one every 10 minutes). None when nobody was answered."""
    since = now - ESTIMATE_WINDOW
    line = Line.objects.prefetch_related("hours", "annual_closures").get(pk=line_id)
    period = current_period(Schedule.of(line, now), now)
    if period is not None and period[0] > since:
        since = period[0]
    answered = Conversation.objects.filter(line_id=line_id, claimed_at__gte=since).count()
    if not answered:
        return None
    return max((now - since).total_seconds(), 60.0) / 60 / answered


def _estimate(per_chat: float | None, position: int) -> int | None:
    return None if per_chat is None else max(1, math.ceil(position * per_chat))


def queue_snapshot(now: datetime | None = None) -> dict[str, Any]:
    """The queue of every chat line in priority order, the positions of waiting children,
    and the live chats with their listeners' load. One read for all local sockets."""
    now = now or timezone.now()
    waiting = list(
        Conversation.objects.filter(status=Status.WAITING)
        .select_related("line")
        .order_by("-risk_rank", "started_at", "pk")
    )
    positions: dict[int, dict[str, Any]] = {}
    counters: dict[int, int] = {}
    items = []
    for conversation in waiting:
        position = counters.get(conversation.line_id, 0) + 1
        counters[conversation.line_id] = position
        positions[conversation.pk] = {"position": position, "line": conversation.line_id}
        items.append(
            {
                "conversation": conversation.pk,
                "line": conversation.line_id,
                "line_name": conversation.line.name,
                "waiting_since": _iso(conversation.started_at),
                "age_band": conversation.age_band,
                "gender": conversation.gender,
                "topics": conversation.topics,
                "risk": RISK_CODES.get(conversation.risk_rank, "none"),
                "risk_rank": conversation.risk_rank,
            }
        )
    per_chat = {line_id: minutes_per_chat(line_id, now) for line_id in counters}
    for entry in positions.values():  # as in the welcome (``estimate_minutes``)
        entry["estimate_minutes"] = _estimate(per_chat[entry["line"]], entry["position"])
    active = list(
        Conversation.objects.filter(status=Status.ACTIVE)
        .select_related("line", "listener")
        .order_by("claimed_at")
    )
    return {
        "items": items,
        "positions": positions,
        "active": [
            {
                "conversation": c.pk,
                "site": c.site_id,
                "listener": _name(c.listener),
                "listener_id": c.listener_id,
                "line": c.line_id,
                "line_name": c.line.name,
                "risk": c.risk,
                "since": _iso(c.claimed_at) if c.claimed_at else None,
            }
            for c in active
        ],
    }


def limit_for(line_id: int) -> int:
    return settings_for(line_id).max_per_listener


def transcripts_visible_to(user: Any) -> QuerySet[Conversation]:
    return view_chat.filter(user, Conversation.objects.all())


def transcript_for_reading(user: Any, pk: int, *, reason: str = "") -> Conversation:
    """A conversation and its transcript; every read and every refused read is audited.
    One the user may not see answers 404."""
    found = (
        transcripts_visible_to(user)
        .select_related("line", "listener", "site")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        audit_record(actor=user, action="chat.read_refused", data={"conversation": pk})
        raise Http404
    audit_record(actor=user, action="chat.read", target=found, reason=reason)
    return found


def transcript(conversation: Conversation) -> list[Message]:
    return list(conversation.messages.select_related("author").order_by("seq"))


def closing_time(conversation: Conversation, now: datetime | None = None) -> datetime | None:
    """When the conversation's line closes, if the chat has been warned of it (the warning
    is sent again to a child who comes back), else None."""
    if conversation.closing_warned_at is None or conversation.status == Status.ENDED:
        return None
    now = now or timezone.now()
    line = Line.objects.prefetch_related("hours", "annual_closures").get(pk=conversation.line_id)
    return closes_at(Schedule.of(line, now), now)


def transfer_targets(user: Any) -> list[dict[str, Any]]:
    """Whom ``user`` may hand a chat to: the listeners, supporters and supervisors of the
    user's sites (of every site for the secretariat), each with whether they have the
    console open now (a chat is handed only to someone who is there)."""
    scope = scope_of(user)
    sites = set().union(*scope.sites_by_role.values()) if scope.sites_by_role else set()
    memberships = Membership.objects.active().filter(
        role__in=[Role.LISTENER, Role.SUPPORTER, Role.SUPERVISOR]
    )
    if Role.SECRETARIAT not in scope.roles:
        memberships = memberships.filter(site_id__in=sites)
    seen: dict[int, dict[str, Any]] = {}
    for membership in memberships.select_related("user", "site").order_by("site", "user__username"):
        person = membership.user
        if person.pk == user.pk or person.pk in seen or not person.is_active:
            continue
        seen[person.pk] = {
            "id": person.pk,
            "name": _name(person),
            "site": membership.site.name if membership.site else "",
        }
    try:
        present = consoles_open(list(seen))
    except Exception:  # the cache is out: offer everyone (the page must still open)
        logger.exception("chat: could not read which consoles are open")
        present = set(seen)
    for pk, target in seen.items():
        target["open"] = pk in present
    return list(seen.values())
