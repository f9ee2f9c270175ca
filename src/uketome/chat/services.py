"""Writes of live chat: start, messages, claims, hand-overs, the end, timers, retention.

Each function opens its transaction, stores first and publishes on commit (``hub``).
Errors are ``ChatError(code, message)``: the code is the protocol's error code
(docs/chat-protocol.md), the message is for people.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from uketome.chat.hub import (
    QUEUE_GROUP,
    SUPERVISORS_GROUP,
    console_open,
    consoles_open,
    conversation_group,
    publish_on_commit,
    staff_group,
)
from uketome.chat.models import (
    RISK_CODES,
    RISK_RANKS,
    ChatSettings,
    Conversation,
    EndReason,
    Message,
    Sender,
    Status,
)
from uketome.core.audit import audit_record
from uketome.core.dates import TOKYO
from uketome.core.events import publish_on_commit as publish_alert_on_commit
from uketome.core.events import site_supervisors_group
from uketome.helpline.hours import Schedule, closes_at, open_now
from uketome.helpline.models import Channel, Line
from uketome.helpline.selectors import home_site

if TYPE_CHECKING:
    from uketome.triage import Assessment

logger = logging.getLogger(__name__)

MAX_CHARS = 2000
MAX_TOPICS = 5
WAITING_GONE_SECONDS = 120
#: A live chat whose listener has had no console open this long goes back to the queue
#: (a network that died, a browser that crashed): the child is not left with nobody.
LISTENER_GONE_SECONDS = 120
STARTED = timezone.now()  # when this process started (``_listeners_gone``)
CLOSING_WARNING = timedelta(minutes=5)
#: How long a child's message may wait for its risk assessment before the sweep scores it
#: (the live path scores it within milliseconds; this catches a process that died).
ASSESS_GRACE = timedelta(seconds=10)
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# C0/C1 controls except tab and line breaks; bidirectional overrides and isolates.
BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class ChatError(Exception):
    """A request the chat cannot do; ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def settings_for(line: Line | int) -> ChatSettings:
    line_id = line if isinstance(line, int) else line.pk
    found = ChatSettings.objects.filter(line_id=line_id).first()
    if found is None:
        found, _created = ChatSettings.objects.get_or_create(line_id=line_id)
    return found


def chat_lines() -> list[Line]:
    """Active lines that take chats, in their order."""
    return [
        line
        for line in Line.objects.filter(active=True).prefetch_related("hours", "annual_closures")
        if Channel.CHAT in line.channels
    ]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return timezone.localtime(moment, TOKYO).isoformat()


def _name(user: Any) -> str:
    if user is None:
        return ""
    return (f"{user.last_name} {user.first_name}".strip()) or user.username


# --- start --------------------------------------------------------------------------------


def conversation_start(
    *,
    line: Line,
    age_band: str = "",
    gender: str = "",
    topics: list[str] | None = None,
    now: datetime | None = None,
) -> tuple[Conversation, str]:
    """A child asks to chat: a waiting conversation and its secret token (returned once;
    only its hash is stored)."""
    now = now or timezone.now()
    if not line.active or Channel.CHAT not in line.channels:
        raise ChatError("bad_request", _("This line does not take chats."))
    if not open_now(Schedule.of(line, now), now):
        raise ChatError("closed", _("The chat is closed now."))
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        settings_for(line)
        conversation = Conversation.objects.create(
            line=line,
            token_hash=token_hash(token),
            started_at=now,
            age_band=age_band,
            gender=gender,
            topics=list(dict.fromkeys(topics or []))[:MAX_TOPICS],
        )
        publish_on_commit(QUEUE_GROUP, {"kind": "queue"})
    return conversation, token


def child_here(*, conversation_id: int) -> int:
    """The child's socket said hello: the child is present. Returns the number of this
    hello, which the socket gives back when it closes (``child_gone``)."""
    with transaction.atomic():  # the number read is this hello's own (the row is locked)
        Conversation.objects.filter(pk=conversation_id).update(
            child_hellos=F("child_hellos") + 1, child_away_since=None
        )
        return int(
            Conversation.objects.values_list("child_hellos", flat=True).get(pk=conversation_id)
        )


def child_gone(*, conversation_id: int, hello: int, now: datetime | None = None) -> None:
    """The child's socket that said hello number ``hello`` closed: the child is away
    (a waiting child who stays away is taken out of the queue by ``sweep``), unless a
    later hello has come meanwhile, on this process or another: a phone that changed
    networks opens its new socket before the server notices that the old one is dead."""
    Conversation.objects.filter(
        pk=conversation_id, child_hellos=hello, child_away_since=None
    ).update(child_away_since=now or timezone.now())


# --- messages -----------------------------------------------------------------------------


def clean_text(text: Any) -> str:
    if not isinstance(text, str):
        raise ChatError("empty", _("Write a message first."))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if BAD_CHARS.search(text):
        raise ChatError(
            "bad_text", _("The message has characters that cannot be sent. Please retype it.")
        )
    if len(text) > MAX_CHARS:
        raise ChatError(
            "too_long",
            _("The message is too long. Please keep it under %(limit)d characters.")
            % {"limit": MAX_CHARS},
        )
    if not text.strip() or all(unicodedata.category(ch) in ("Zs", "Cc", "Cf") for ch in text):
        raise ChatError("empty", _("Write a message first."))
    return text


def clean_client_id(value: Any) -> str:
    if not isinstance(value, str) or not CLIENT_ID.match(value):
        raise ChatError("bad_id", _("The message has no valid id."))
    return value


@dataclass
class Posted:
    message: Message
    created: bool
    event: dict[str, Any] = field(default_factory=dict)


def item_event(message: Message, *, author: str = "", origin: str = "") -> dict[str, Any]:
    return {
        "kind": "item",
        "conversation": message.conversation_id,
        "seq": message.seq,
        "id": message.client_id,
        "from": message.sender,
        "author": author or None,
        "text": message.text or "",
        "at": _iso(message.created_at),
        "risk": RISK_CODES.get(message.risk_rank or 0, "none"),
        "origin": origin,
    }


@functools.cache
def _post_statements(vendor: str, sender: str) -> tuple[str, str]:
    """The two statements of a message (the UPDATE that takes its number, the INSERT), for
    the database's own driver: built once, not for every message."""
    quote = connection.ops.quote_name
    statuses = _open_statuses(sender)
    sets = ["last_seq = last_seq + 1"]
    if sender == Sender.CHILD:
        sets += ["last_child_message_at = %s", "warned_at = NULL"]
    elif sender == Sender.LISTENER:
        sets += ["last_listener_message_at = %s", "warned_at = NULL"]
    where = f"id = %s AND status IN ({', '.join(['%s'] * len(statuses))})"
    if sender == Sender.LISTENER:
        where += " AND listener_id = %s"
    advance = (
        f"UPDATE {quote(Conversation._meta.db_table)} SET {', '.join(sets)} "  # noqa: S608
        f"WHERE {where} RETURNING last_seq, status"  # (the names are ours)
    )
    columns = [f.column for f in _message_fields()]
    insert = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (the model's names)
        quote(Message._meta.db_table),
        ", ".join(quote(column) for column in columns),
        ", ".join(["%s"] * len(columns)),
    )
    if vendor == "sqlite":  # the sqlite3 module's placeholder (Django's wrapper converts)
        advance, insert = advance.replace("%s", "?"), insert.replace("%s", "?")
    return advance, insert


@functools.cache
def _message_fields() -> tuple[Any, ...]:
    return tuple(f for f in Message._meta.concrete_fields if not f.primary_key)


def _execute(sql: str, params: Sequence[Any]) -> Any:
    """One statement on the driver's own cursor, in the transaction Django has open (the
    two statements of every chat message; Django's cursor wrapper costs more than the
    statements do). Errors are Django's, as with its cursor."""
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchone() if cursor.description else None
        finally:
            cursor.close()


def _advance(
    conversation_id: int, sender: str, author: Any, now: datetime
) -> tuple[int, str] | None:
    """Take the conversation's next sequence number in ONE statement (UPDATE ... RETURNING,
    PostgreSQL and SQLite 3.35+): the row lock it takes orders concurrent writers, and a
    message to or from the child also restarts the inactivity clock. None if the conversation is not
    open to ``sender``. Returns (seq, status)."""
    params: list[Any] = []
    if sender in (Sender.CHILD, Sender.LISTENER):
        params.append(connection.ops.adapt_datetimefield_value(now))
    params += [conversation_id, *_open_statuses(sender)]
    if sender == Sender.LISTENER:
        params.append(author.pk if author is not None else None)
    row = _execute(_post_statements(connection.vendor, sender)[0], params)
    return None if row is None else (int(row[0]), str(row[1]))


def _insert(message: Message) -> None:
    """INSERT one message without the ORM's per-call compilation (a chat message is the
    hottest write there is); every column is prepared by its own field, so the text is
    encrypted exactly as ``save()`` would. The primary key is not read back: a message is
    addressed by (conversation, seq)."""
    values = [
        f.get_db_prep_save(getattr(message, f.attname), connection) for f in _message_fields()
    ]
    _execute(_post_statements(connection.vendor, message.sender)[1], values)


def message_post(
    *,
    conversation_id: int,
    sender: str,
    client_id: str,
    text: str,
    author: Any = None,
    origin: str = "",
    now: datetime | None = None,
) -> Posted:
    """Store one item of a conversation with the next sequence number, then publish it.

    A retried ``client_id`` returns the stored item (``created=False``) and stores nothing
    (the unique constraint decides, so the common case costs two statements: the UPDATE
    that takes the number and the INSERT). Who may post what is checked by the caller
    (the consumer); here only the conversation's state (and, for the listener's messages,
    that the author is its listener) is checked.

    A child's message is stored "not yet assessed" (``risk_rank`` NULL) and delivered at
    once; ``message_assess`` scores it right after (the consumer calls it once the message
    is on its way; ``sweep`` catches any that a crash left unscored).
    """
    client_id = clean_client_id(client_id)
    text = clean_text(text)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            advanced = _advance(conversation_id, sender, author, now)
            if advanced is None:
                existing = _existing(conversation_id, client_id)
                if existing is not None:
                    return Posted(existing, False)
                if Conversation.objects.filter(
                    pk=conversation_id, status__in=_open_statuses(sender)
                ).exists():
                    raise ChatError("not_yours", _("This chat is not yours."))
                raise ChatError("ended", _("This chat has ended."))
            seq, _status = advanced
            message = Message(
                conversation_id=conversation_id,
                seq=seq,
                client_id=client_id,
                sender=sender,
                author=author,
                text=text,
                risk_rank=None if sender == Sender.CHILD else 0,
                created_at=now,
            )
            _insert(message)
            event = item_event(message, author=_name(author), origin=origin)
            publish_on_commit(conversation_group(conversation_id), event)
    except IntegrityError:
        existing = _existing(conversation_id, client_id)
        if existing is None:
            raise
        return Posted(existing, False)
    return Posted(message, True, event)


def _existing(conversation_id: int, client_id: str) -> Message | None:
    return Message.objects.filter(conversation_id=conversation_id, client_id=client_id).first()


def _open_statuses(sender: str) -> list[str]:
    if sender == Sender.CHILD:
        return [Status.WAITING, Status.ACTIVE]
    return [Status.ACTIVE]


def message_assess(message: Message, assessment: Assessment | None = None) -> Assessment | None:
    """Score a child's message against the risk lexicon (unless ``assessment`` is given:
    the chat's sockets score it on a thread of their own and record it here), once (a
    conditional UPDATE: several processes may try). A message above its conversation's
    risk raises it (queue order) and, at high or urgent, alerts the supervisors; the staff
    following the conversation get the message's level. None when it was assessed
    already."""
    if assessment is None:
        assessment = assess_text(message.text or "")
    rank = RISK_RANKS.get(assessment.level, 0)
    if rank == 0:  # most messages: one statement, no transaction of its own
        if not _set_risk(message, rank):
            return None
        return assessment
    with transaction.atomic():
        if not _set_risk(message, rank):
            return None
        publish_on_commit(
            conversation_group(message.conversation_id),
            {
                "kind": "risk",
                "conversation": message.conversation_id,
                "seq": message.seq,
                "risk": assessment.level,
            },
        )
        raised = Conversation.objects.filter(pk=message.conversation_id, risk_rank__lt=rank).update(
            risk_rank=rank
        )
        if raised:
            _risk_raised(message, assessment)
    return assessment


def messages_record_calm(keys: Sequence[tuple[int, int]]) -> int:
    """Record level "none" for the children's messages ``keys`` (conversation, seq) that
    nobody has scored yet, in one UPDATE per few hundred (most messages are calm: the
    chat's sockets gather them, see ``hub.Batch``). Returns how many it recorded."""
    table = connection.ops.quote_name(Message._meta.db_table)
    recorded = 0
    for start in range(0, len(keys), 400):
        chunk = keys[start : start + 400]
        sql = (
            f"UPDATE {table} SET risk_rank = 0 WHERE risk_rank IS NULL "  # noqa: S608 (ours)
            "AND (conversation_id, seq) IN (VALUES " + ", ".join(["(%s, %s)"] * len(chunk)) + ")"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for key in chunk for value in key])
            recorded += cursor.rowcount
    return recorded


def assess_text(text: str) -> Assessment:
    """The lexicon's verdict on one text (no database)."""
    from uketome.triage import assess

    return assess(text)


def _set_risk(message: Message, rank: int) -> bool:
    """Record ``message``'s level if nobody has yet (one plain UPDATE: this runs for every
    child's message)."""
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(Message._meta.db_table)} SET risk_rank = %s "  # noqa: S608 (ours)
        "WHERE conversation_id = %s AND seq = %s AND risk_rank IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [rank, message.conversation_id, message.seq])
        updated = cursor.rowcount == 1
    if updated:
        message.risk_rank = rank
    return updated


def assess_pending(now: datetime | None = None) -> int:
    """Score the children's messages a crash left unassessed (older than a few seconds, so
    the live path has had its turn). Returns how many were scored here."""
    now = now or timezone.now()
    pending = Message.objects.filter(
        risk_rank__isnull=True, created_at__lte=now - ASSESS_GRACE
    ).order_by("conversation_id", "seq")[:500]
    scored = 0
    for message in pending:
        try:
            scored += message_assess(message) is not None
        except Exception:  # one message that cannot be scored stops neither the others
            logger.exception(
                "chat: message %s#%s could not be scored", message.conversation_id, message.seq
            )
    return scored


def _risk_raised(message: Message, assessment: Any) -> None:
    """A child's message raised its conversation's risk: the queue moves and, at high or
    urgent, the supervisors are alerted."""
    conversation = Conversation.objects.select_related("site", "line").get(
        pk=message.conversation_id
    )
    if conversation.status == Status.WAITING:
        publish_on_commit(QUEUE_GROUP, {"kind": "queue"})
    if not assessment.alert:
        return
    payload = {
        "conversation": conversation.pk,
        "risk": assessment.level,
        "categories": list(assessment.categories),
        "line": conversation.line.name,
        "site": conversation.site.name if conversation.site else "",
        "url": reverse("chat:console"),
    }
    audit_record(
        actor=None,
        action="chat.risk_raised",
        target=conversation,
        data={"risk": assessment.level, "seq": message.seq},
    )
    # The supervisors of the chat's site; of the whole network while no site has it yet.
    # The staff pages' banner reads as the other alerts do: the level's name, its rank.
    from uketome.triage.models import RiskLevel

    with override("ja"):
        label = str(RiskLevel(assessment.level).label)
    banner = {**payload, "risk": label, "rank": RISK_RANKS.get(assessment.level, 0)}
    publish_alert_on_commit(site_supervisors_group(conversation.site_id), "chat.risk", banner)
    publish_on_commit(
        SUPERVISORS_GROUP, {"kind": "alert", "site_id": conversation.site_id, **payload}
    )
    publish_on_commit(QUEUE_GROUP, {"kind": "queue"})


# --- claims -------------------------------------------------------------------------------


def active_count(user: Any, line_id: int) -> int:
    return Conversation.objects.filter(listener=user, line_id=line_id, status=Status.ACTIVE).count()


def conversation_claim_next(
    *, actor: Any, line_id: int | None = None, now: datetime | None = None
) -> Conversation:
    """Take the waiting chat with the highest priority (risk level, then the longest wait)
    on a line where ``actor`` is under the limit. Claimed in one conditional UPDATE, so two
    listeners never take the same chat: the loser tries the next one."""
    now = now or timezone.now()
    lines = [ln for ln in chat_lines() if line_id is None or ln.pk == line_id]
    open_lines = [
        ln.pk for ln in lines if active_count(actor, ln.pk) < settings_for(ln).max_per_listener
    ]
    if not open_lines:
        if lines:
            raise ChatError(
                "limit", _("You already have as many chats as this line allows at once.")
            )
        raise ChatError("queue_empty", _("Nobody is waiting."))
    site = home_site(actor)
    for _attempt in range(20):
        candidate = (
            Conversation.objects.filter(status=Status.WAITING, line_id__in=open_lines)
            .order_by("-risk_rank", "started_at", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if candidate is None:
            raise ChatError("queue_empty", _("Nobody is waiting."))
        with transaction.atomic():
            claimed = Conversation.objects.filter(pk=candidate, status=Status.WAITING).update(
                status=Status.ACTIVE,
                listener=actor,
                site=site,
                claimed_at=Coalesce("claimed_at", Value(now, output_field=DateTimeField())),
                taken_at=now,
                listener_away_since=None,
            )
            if not claimed:
                continue
            conversation = Conversation.objects.select_related("line").get(pk=candidate)
            audit_record(actor=actor, action="chat.claimed", target=conversation)
            _publish_status(conversation, actor)
            # Every console of the listener (another tab, another device) opens it.
            publish_on_commit(
                staff_group(actor.pk), {"kind": "assigned", "conversation": candidate}
            )
            publish_on_commit(QUEUE_GROUP, {"kind": "queue"})
        return conversation
    raise ChatError("queue_empty", _("Nobody is waiting."))


def _publish_status(conversation: Conversation, listener: Any) -> None:
    publish_on_commit(
        conversation_group(conversation.pk),
        {
            "kind": "status",
            "conversation": conversation.pk,
            "status": conversation.status,
            "listener": _name(listener) or None,
            "listener_id": listener.pk if listener else None,
            "at": _iso(conversation.taken_at or conversation.claimed_at or timezone.now()),
        },
    )


def conversation_take_over(*, actor: Any, conversation: Conversation) -> Conversation:
    """A supporter or supervisor becomes the listener of a live chat."""
    previous = conversation.listener
    with transaction.atomic():
        changed = Conversation.objects.filter(
            pk=conversation.pk, status=Status.ACTIVE, listener=previous
        ).update(listener=actor, listener_away_since=None)
        if not changed:
            raise ChatError("ended", _("This chat is no longer live."))
        conversation.refresh_from_db()
        audit_record(
            actor=actor,
            action="chat.taken_over",
            target=conversation,
            data={"from": previous.pk if previous else None},
        )
        _hand_over(conversation, previous, actor, "takeover")
    return conversation


def conversation_transfer(*, actor: Any, conversation: Conversation, to: Any) -> Conversation:
    """Hand a live chat to another listener who is under the line's limit."""
    from uketome.core.permissions import take_chat

    if to is None or not to.is_active or not take_chat.test(to):
        raise ChatError("busy", _("That person cannot take chats."))
    if not console_open(to.pk):  # the child would wait with nobody there
        raise ChatError("busy", _("That person does not have the chat console open now."))
    limit = settings_for(conversation.line_id).max_per_listener
    if active_count(to, conversation.line_id) >= limit:
        raise ChatError("busy", _("That listener already has as many chats as allowed."))
    previous = conversation.listener
    with transaction.atomic():
        changed = Conversation.objects.filter(
            pk=conversation.pk, status=Status.ACTIVE, listener=previous
        ).update(listener=to, site=home_site(to) or conversation.site, listener_away_since=None)
        if not changed:
            raise ChatError("ended", _("This chat is no longer live."))
        conversation.refresh_from_db()
        audit_record(
            actor=actor,
            action="chat.transferred",
            target=conversation,
            data={"from": previous.pk if previous else None, "to": to.pk},
        )
        _hand_over(conversation, previous, to, "transfer")
    return conversation


def _hand_over(conversation: Conversation, previous: Any, new: Any, reason: str) -> None:
    if previous is not None and previous.pk != new.pk:
        publish_on_commit(
            staff_group(previous.pk),
            {
                "kind": "released",
                "conversation": conversation.pk,
                "reason": reason,
                "to": _name(new),
            },
        )
    publish_on_commit(staff_group(new.pk), {"kind": "assigned", "conversation": conversation.pk})
    _publish_status(conversation, new)
    publish_on_commit(QUEUE_GROUP, {"kind": "queue"})


def conversation_return(
    *, conversation_id: int, listener_id: int, now: datetime | None = None
) -> bool:
    """A live chat whose listener is gone (``sweep`` saw no console of theirs open for
    LISTENER_GONE_SECONDS) goes back to the queue, ahead of every child at its risk level
    or lower who came after it (the queue's order: risk level, then start). The child and
    whoever takes it next read a notice in the chat; the listener's consoles, if any comes
    back, are told it is no longer theirs.
    False if it had ended or left ``listener_id`` meanwhile (taken over, transferred)."""
    now = now or timezone.now()
    conversation = (
        Conversation.objects.filter(
            pk=conversation_id, status=Status.ACTIVE, listener_id=listener_id
        )
        .select_related("listener")
        .first()
    )
    if conversation is None:
        return False
    previous = conversation.listener
    gone_before = now - timedelta(seconds=LISTENER_GONE_SECONDS)
    with transaction.atomic():
        if previous is None or not Conversation.objects.filter(
            pk=conversation_id,
            status=Status.ACTIVE,
            listener=previous,
            listener_away_since__lte=gone_before,  # not seen back meanwhile (another sweep)
        ).update(listener_away_since=None):  # the row locked: nobody else hands it on now
            return False
        with override("ja"):  # the child's words, whatever the process's language
            notice = _(
                "The listener's connection was lost. Please wait a little: another listener "
                "will come. What you wrote so far is passed on."
            )
        message_post(
            conversation_id=conversation_id,
            sender=Sender.SYSTEM,
            client_id=f"returned-{secrets.token_hex(8)}",
            text=notice,
            now=now,
        )
        Conversation.objects.filter(pk=conversation_id).update(
            status=Status.WAITING, listener=None, site=None, warned_at=None
        )
        conversation.refresh_from_db()
        audit_record(
            actor=None, action="chat.returned", target=conversation, data={"from": previous.pk}
        )
        publish_on_commit(
            staff_group(previous.pk),
            {"kind": "released", "conversation": conversation_id, "reason": "returned", "to": None},
        )
        _publish_status(conversation, None)
        publish_on_commit(QUEUE_GROUP, {"kind": "queue"})
    return True


def _listeners_gone(now: datetime, result: SweepResult) -> None:
    """Notes since when each live chat's listener has had no console open, and returns to
    the queue the chats of those gone for LISTENER_GONE_SECONDS (``conversation_return``).
    If the cache cannot be read, nothing is changed: an outage must not take every child
    from their listener. A few statements whatever the number of chats."""
    active = Conversation.objects.filter(status=Status.ACTIVE)
    listeners = set(
        active.filter(listener__isnull=False).values_list("listener_id", flat=True).distinct()
    )
    if not listeners or now - STARTED < timedelta(seconds=LISTENER_GONE_SECONDS):
        # Just started: the consoles are still coming back (a mark of "away" left from
        # before a restart does not count until they have had the whole grace).
        return
    try:
        present = consoles_open(sorted(listeners))
    except Exception:
        logger.exception("chat: could not read which consoles are open")
        return
    active.filter(listener_id__in=present, listener_away_since__isnull=False).update(
        listener_away_since=None
    )
    absent = listeners - present
    if not absent:
        return
    active.filter(listener_id__in=absent, listener_away_since=None).update(listener_away_since=now)
    gone_before = now - timedelta(seconds=LISTENER_GONE_SECONDS)
    due = active.filter(listener_id__in=absent, listener_away_since__lte=gone_before)
    for pk, listener_id in due.values_list("pk", "listener_id"):
        if conversation_return(conversation_id=pk, listener_id=listener_id, now=now):
            result.returned.append(pk)


# --- the end ------------------------------------------------------------------------------


def conversation_end(
    *,
    conversation_id: int,
    reason: str,
    actor: Any = None,
    now: datetime | None = None,
) -> bool:
    """End a waiting or live chat (once: a conditional UPDATE). False if already ended."""
    now = now or timezone.now()
    with transaction.atomic():
        ended = Conversation.objects.filter(
            pk=conversation_id, status__in=[Status.WAITING, Status.ACTIVE]
        ).update(status=Status.ENDED, ended_at=now, end_reason=reason)
        if not ended:
            return False
        # Final: nothing is stored in an ended chat (and the row is ours until the commit).
        conversation = Conversation.objects.get(pk=conversation_id)
        if actor is not None:
            audit_record(
                actor=actor, action="chat.ended", target=conversation, data={"reason": reason}
            )
        publish_on_commit(
            conversation_group(conversation_id),
            {
                "kind": "end",
                "conversation": conversation_id,
                "reason": reason,
                "last_seq": conversation.last_seq,  # each socket has all before the end
            },
        )
        publish_on_commit(QUEUE_GROUP, {"kind": "queue"})
    return True


# --- timers -------------------------------------------------------------------------------


#: Since when an active chat has waited for the child: the latest of the child's last
#: message, the listener's last message (a child waiting for an answer is not quiet) and
#: the moment a listener took the chat (what the child wrote while waiting in the queue
#: did not wait for an answer from anyone).
TAKEN = Coalesce("taken_at", "claimed_at")
QUIET_SINCE = Greatest(
    Coalesce("last_child_message_at", TAKEN),
    Coalesce("last_listener_message_at", TAKEN),
    TAKEN,
)


def quiet_since(conversation: Conversation) -> datetime | None:
    """``QUIET_SINCE`` of one conversation read already."""
    times = [
        t
        for t in (
            conversation.last_child_message_at,
            conversation.last_listener_message_at,
            conversation.taken_at or conversation.claimed_at,
        )
        if t
    ]
    return max(times) if times else None


@dataclass
class SweepResult:
    warned: list[int] = field(default_factory=list)
    ended: dict[int, str] = field(default_factory=dict)
    assessed: int = 0
    returned: list[int] = field(default_factory=list)  # to the queue: the listener was gone


def sweep(now: datetime | None = None) -> SweepResult:
    """The chat timers, run every few seconds in each process (safe on many: every change
    is a conditional UPDATE): the inactivity warning and end, closing time, waiting
    children who left, chats whose listener is gone, and children's messages left
    unassessed."""
    now = now or timezone.now()
    result = SweepResult()
    try:  # nor the timers
        result.assessed = assess_pending(now)
    except Exception:
        logger.exception("chat: the messages left unscored could not be read")
    live = Conversation.objects.filter(status__in=[Status.WAITING, Status.ACTIVE])
    line_ids = set(live.values_list("line_id", flat=True))
    if not line_ids:
        return result
    for line in Line.objects.filter(pk__in=line_ids).prefetch_related("hours", "annual_closures"):
        rules = settings_for(line)
        schedule = Schedule.of(line, now)
        on_line = live.filter(line=line)
        if not open_now(schedule, now):
            for pk in on_line.values_list("pk", flat=True):
                if conversation_end(conversation_id=pk, reason=EndReason.CLOSING, now=now):
                    result.ended[pk] = EndReason.CLOSING
            continue
        closing = closes_at(schedule, now)
        if closing is not None and closing - now <= CLOSING_WARNING:
            for pk in on_line.filter(closing_warned_at=None).values_list("pk", flat=True):
                if Conversation.objects.filter(pk=pk, closing_warned_at=None).update(
                    closing_warned_at=now
                ):
                    _publish_warning(pk, "closing", closing)
                    result.warned.append(pk)
        active = on_line.filter(status=Status.ACTIVE).annotate(quiet_since=QUIET_SINCE)
        end_before = now - timedelta(seconds=rules.end_after_seconds)
        for pk in active.filter(quiet_since__lte=end_before).values_list("pk", flat=True):
            if conversation_end(conversation_id=pk, reason=EndReason.INACTIVE, now=now):
                result.ended[pk] = EndReason.INACTIVE
        warn_before = now - timedelta(seconds=rules.warn_after_seconds)
        due = active.filter(quiet_since__lte=warn_before, warned_at=None).exclude(
            pk__in=list(result.ended)
        )
        for pk, quiet in due.values_list("pk", "quiet_since"):
            if Conversation.objects.filter(pk=pk, warned_at=None, status=Status.ACTIVE).update(
                warned_at=now
            ):
                _publish_warning(pk, "inactive", quiet + timedelta(seconds=rules.end_after_seconds))
                result.warned.append(pk)
        gone_before = now - timedelta(seconds=WAITING_GONE_SECONDS)
        for pk in on_line.filter(
            status=Status.WAITING, child_away_since__lte=gone_before
        ).values_list("pk", flat=True):
            if conversation_end(conversation_id=pk, reason=EndReason.LEFT, now=now):
                result.ended[pk] = EndReason.LEFT
    try:  # after the ends: a chat at closing time ends rather than going back to the queue
        _listeners_gone(now, result)
    except Exception:
        logger.exception("chat: the listeners' consoles could not be checked")
    return result


def _publish_warning(conversation_id: int, code: str, ends_at: datetime) -> None:
    with transaction.atomic():
        publish_on_commit(
            conversation_group(conversation_id),
            {
                "kind": "warning",
                "conversation": conversation_id,
                "code": code,
                "ends_at": _iso(ends_at),
            },
        )


# --- retention ----------------------------------------------------------------------------


def retention_run(*, actor: Any = None, now: datetime | None = None) -> dict[str, int]:
    """Remove the transcripts (every message) of chats that ended more than the line's
    retention period ago; keep the conversation's statistical row. Audited."""
    now = now or timezone.now()
    removed: dict[str, int] = {}
    for line in Line.objects.all():
        cutoff = now - timedelta(days=line.retention_days)
        due = Conversation.objects.filter(
            line=line, transcript_removed_at=None, status=Status.ENDED
        ).filter(Q(ended_at__lt=cutoff))
        ids = list(due.values_list("pk", flat=True))
        if not ids:
            continue
        with transaction.atomic():
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                Message.objects.filter(conversation_id__in=chunk).delete()
                Conversation.objects.filter(pk__in=chunk).update(transcript_removed_at=now)
        removed[line.slug] = len(ids)
    audit_record(
        actor=actor, action="chat.retention_run", data={"removed": removed, "at": now.isoformat()}
    )
    return removed
