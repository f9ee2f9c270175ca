"""The chat sockets: the child's (/ws/chat/) and the staff console's (/ws/staff/chat/).

Thin: parse a frame, call a service or a selector, send frames. The protocol is
docs/chat-protocol.md. Every connection receives a conversation's numbered frames in
order with nothing it may see missing (``_deliver`` fills gaps from the database).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from uketome.chat import selectors, services, store
from uketome.chat.hub import (
    GONE,
    SUPERVISORS_GROUP,
    Batch,
    console_opened,
    conversation_group,
    db,
    hub,
    spawn,
    staff_group,
)
from uketome.chat.models import CHILD_VISIBLE, Conversation, EndReason, Message, Sender, Status
from uketome.core.permissions import (
    forget_scope,
    scope_of,
    supervises_chats,
    take_chat,
    take_over_chat,
    transfer_chat,
    use_chat_console,
    watch_chat,
)

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 16384  # 2,000 characters even when JSON-escaped
HELLO_TIMEOUT = 10.0
HELLO_LATE = 4408  # the close code when no hello came within HELLO_TIMEOUT
MAX_OWN = 50  # chats a console may say it shows as its own in a hello
#: The head of the queue a console is sent (with the count of all who wait): a long queue
#: is not sent whole to every console at every change (a thousand waiting chats made
#: 250 kB per console per push). "Take next" takes from the whole queue.
QUEUE_SHOWN = 50

#: Children's messages scored "none" (most), recorded together (the sweep scores again
#: what a crash left pending).
calm_messages: Batch[tuple[int, int]] = Batch(services.messages_record_calm)


async def assess(message: Message) -> None:
    """Score a delivered child's message (the staff get its level a moment later)."""
    assessment = await db(services.assess_text, later=True)(message.text or "")
    if assessment.level == "none":  # most: recorded with others, every half second
        calm_messages.add((message.conversation_id, message.seq))
    else:
        await db(services.message_assess)(message, assessment)


def same_origin(scope: dict[str, Any]) -> bool:
    """A browser's Origin must be this site (no Origin: not a browser, allowed)."""
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    origin = headers.get(b"origin")
    if origin is None:
        return True
    netloc = urlsplit(origin.decode("latin1")).netloc.lower()
    host = headers.get(b"host", b"").decode("latin1").lower()
    if netloc and netloc == host:
        return True
    hostname = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
    allowed = [h.lower() for h in settings.ALLOWED_HOSTS]
    return "*" not in allowed and hostname in allowed


def _messages() -> dict[str, str]:
    return {
        "bad_json": _("The message could not be read. Please try again."),
        "too_big": _("The message is too long. Please keep it under %(limit)d characters.")
        % {"limit": services.MAX_CHARS},
        "unknown_type": _("The server did not understand this request."),
        "hello_first": _("Connect to the chat first."),
        "bad_hello": _("This chat could not be opened."),
        "not_found": _("This chat was not found."),
        "too_fast": _("You are sending very fast. Please wait a moment and send again."),
        "not_yours": _("This chat is not yours."),
        "not_allowed": _("You may not do this."),
        "origin": _("This chat can only be used from this site's own pages."),
        "server_error": _("Something went wrong on our side. Please try again."),
    }


def _error(code: str, message: str = "", **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message or _messages().get(code, ""), **extra}


def _echo(frame: dict[str, Any]) -> dict[str, Any]:
    """What an error repeats of the frame it answers: its conversation and message id."""
    return {k: frame[k] for k in ("conversation", "id") if isinstance(frame.get(k), int | str)}


END_MESSAGES: dict[str, str] = {
    EndReason.CHILD: gettext_noop("You ended the chat. Thank you for talking with us."),
    EndReason.LISTENER: gettext_noop("The chat has ended. Thank you for talking with us."),
    EndReason.INACTIVE: gettext_noop(
        "The chat ended because there was no message for a while. "
        "You can start a new chat at any time."
    ),
    EndReason.CLOSING: gettext_noop(
        "The chat has closed for today. Thank you for talking with us."
    ),
    EndReason.LEFT: gettext_noop("The chat ended because you were away."),
}


def end_message(reason: str) -> str:
    return _(END_MESSAGES.get(reason, END_MESSAGES[EndReason.LISTENER]))


def warning_message(code: str, ends_at: datetime | None = None) -> str:
    """The warning's words; the inactivity one says how long is left (the line's own
    settings, and a child who comes back late is told the time that remains)."""
    if code == "closing":
        return _("The chat closes in a few minutes.")
    left = (ends_at - timezone.now()).total_seconds() if ends_at is not None else 60
    minutes = max(1, math.ceil(left / 60))
    return ngettext(
        "Are you still there? If you send nothing, the chat will end in %(m)d minute.",
        "Are you still there? If you send nothing, the chat will end in %(m)d minutes.",
        minutes,
    ) % {"m": minutes}


class OrderedSocket(AsyncWebsocketConsumer):
    """Frames carrying a ``seq`` go out in order, once, with gaps filled from the DB."""

    is_child = False
    # No channel of its own on the channel layer: the hub holds one per process and calls
    # the sockets directly. (A channel per socket cost a Redis subscription each and, in
    # memory, a scan of every channel at each connect: slow when all reconnect at once.)
    channel_layer_alias = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' consumer loop for a socket without a channel: one frame after the
        other, as ``await_many_dispatch`` would, without its task and wait per frame."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        self.closed = False  # closed by us, or found gone: nothing more is sent
        self.gone = False  # disconnect() has run
        try:
            while True:
                message = await receive()
                try:
                    await self.dispatch(message)
                except StopConsumer:
                    raise
                except Exception as error:
                    if message.get("type") != "websocket.receive":
                        raise
                    await self.failed(error)
        except StopConsumer:
            pass
        except Exception:
            if not self.gone:  # what the socket holds in the hub goes with it, always
                self.gone = True
                await self.disconnect(1011)
            raise

    async def failed(self, error: Exception) -> None:
        """A frame's handling failed unexpectedly: logged, the sender told, the socket
        lives on (its next frames, and its closing, are handled as ever)."""
        if type(error).__name__ in GONE:
            self.closed = True
            return
        logger.error("chat: a frame could not be handled", exc_info=error)
        frame = getattr(self, "frame", None) or {}
        await self.send_json(_error("server_error", **_echo(frame)))
        if frame.get("type") == "hello":  # nothing opened: the page tries again, anew
            await self.close(code=1011)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self.gone = self.closed = True
        await self.disconnect(message.get("code", 1005))
        raise StopConsumer

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        """Nothing is sent after the socket closed (a frame still on its way when a chat
        ends, or when the other side has gone: it resumes from its last seq)."""
        if self.closed:
            return
        try:
            await super().send(text_data, bytes_data, close)
        except Exception as error:
            if type(error).__name__ not in GONE:
                raise
            self.closed = True

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            await super().close(code, reason)
        except Exception as error:
            if type(error).__name__ not in GONE:
                raise

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its ``close_old_connections`` before every frame:
        that is a trip to the database thread and, with SQLite, a new connection for
        every chat message. ``hub.db`` closes a connection that failed instead."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def setup(self) -> None:
        self.conn_id = uuid.uuid4().hex
        self.delivered: dict[int, int] = {}
        self.lock = asyncio.Lock()
        self.groups_followed: set[str] = set()
        self.posting: set[str] = set()  # client ids of this socket's messages being stored

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))

    async def parse(self, text_data: str | None, bytes_data: bytes | None) -> dict[str, Any] | None:
        self.frame: dict[str, Any] | None = None
        raw = text_data if text_data is not None else None
        if raw is None:
            await self.send_json(_error("bad_json"))
            return None
        if len(raw) > MAX_FRAME_BYTES or len(raw.encode()) > MAX_FRAME_BYTES:
            await self.send_json(_error("too_big"))
            return None
        try:
            frame = json.loads(raw)
        except ValueError:
            await self.send_json(_error("bad_json"))
            return None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_json(_error("bad_json"))
            return None
        self.frame = frame  # the frame being handled (``failed`` names it)
        return frame

    async def follow(
        self,
        conversation_id: int,
        after: int,
        header: Any = None,
        extra: Callable[[Conversation], Any] | None = None,
    ) -> Any:
        """Join the conversation's group, then (under the lock) send ``header(conv, data)``
        and the replay after ``after``; ``data`` is ``extra(conv)``, read in the same trip
        to the database. Joining first means nothing falls between."""
        group = conversation_group(conversation_id)
        await hub.join(group, self)
        self.groups_followed.add(group)
        is_child = self.is_child

        def read() -> tuple[Conversation, list[dict[str, Any]], Any]:
            conversation, items = selectors.follow_state(conversation_id, after, is_child)
            return conversation, items, extra(conversation) if extra is not None else None

        async with self.lock:
            conversation, items, data = await db(read)()
            if header is not None:
                await header(conversation, data)
            for item in items:
                await self.send_item(item)
            self.delivered[conversation_id] = max(conversation.last_seq, 0)
        return conversation

    async def unfollow(self, conversation_id: int) -> None:
        group = conversation_group(conversation_id)
        self.delivered.pop(conversation_id, None)
        self.groups_followed.discard(group)
        await hub.leave(group, self)

    async def deliver(self, event: dict[str, Any]) -> None:
        conversation_id, seq = event["conversation"], event["seq"]
        async with self.lock:
            have = self.delivered.get(conversation_id)
            if have is None or seq <= have:
                return
            if seq > have + 1:
                for item in await db(selectors.items_between)(
                    conversation_id, have, seq - 1, child=self.is_child
                ):
                    await self.send_item(item)
            if not self.is_child or event["from"] in CHILD_VISIBLE:
                await self.send_item(event)
            self.delivered[conversation_id] = seq

    async def catch_up(self, event: dict[str, Any]) -> None:
        """Before an event that closes a conversation (its ``last_seq``: the newest item
        there will ever be), whatever of it this socket has not had yet: an item whose
        event comes later by another path (or was lost on the layer) is not waited for."""
        conversation_id, last = event["conversation"], event.get("last_seq")
        if not isinstance(last, int):
            return
        async with self.lock:  # after any message still being delivered
            await self._fill_to(conversation_id, last)

    async def _fill_to(self, conversation_id: int, last: int) -> bool:
        """(Under the lock.) Send what this socket lacks of the conversation up to ``last``;
        whether there was anything."""
        have = self.delivered.get(conversation_id)
        if have is None or last <= have:
            return False
        for item in await db(selectors.items_between)(
            conversation_id, have, last, child=self.is_child
        ):
            await self.send_item(item)
        self.delivered[conversation_id] = last
        return True

    async def post_own(self, **fields: Any) -> services.Posted:
        """Store a message this socket sent, and answer it. Until it is answered, its item
        may reach the socket by another way first (a gap filled for another process's
        message): it is still answered as this socket's own (``sent_here``)."""
        client_id = fields.get("client_id")
        mark = client_id if isinstance(client_id, str) else ""
        self.posting.add(mark)
        try:
            posted: services.Posted = await store.message_post(origin=self.conn_id, **fields)
            await self.send_ack(posted)
            return posted
        finally:
            self.posting.discard(mark)

    def sent_here(self, item: dict[str, Any]) -> bool:
        """Whether ``item`` is a message this socket sent (answered as an ``ack``)."""
        return item.get("origin") == self.conn_id or (
            bool(item.get("id")) and item["id"] in self.posting
        )

    async def send_ack(self, posted: services.Posted) -> None:
        """The answer to one's own message. A new one goes through the ordered path (the
        fan-out may have sent it already); a retried one is acknowledged again, in order
        too: a page takes an ack's seq as seen, so whatever came before it (and has not
        reached this socket yet) goes first, the retried item among it."""
        message = posted.message
        if posted.created:
            await self.deliver({**posted.event, "origin": self.conn_id})
            return
        conversation_id = message.conversation_id
        async with self.lock:
            if await self._fill_to(conversation_id, message.seq):
                return  # the retried item was among what was missing: its own answer
            frame = {"type": "ack", "id": message.client_id, "seq": message.seq}
            frame["at"] = services._iso(message.created_at)
            if not self.is_child:
                frame["conversation"] = conversation_id
            await self.send_json(frame)

    async def send_item(self, item: dict[str, Any]) -> None:
        raise NotImplementedError

    async def leave_all(self) -> None:
        for group in list(getattr(self, "groups_followed", ())):
            await hub.leave(group, self)


def _child_opening(conversation_id: Any, token: Any) -> tuple[Conversation, Any, int] | None:
    """A child's hello in one trip to the database: the conversation the token opens (None:
    not found, whether or not it exists), the line's chat rules, the child marked present
    (and the number of this hello, 0 for an ended chat)."""
    found = selectors.conversation_for_child(conversation_id, token)
    if found is None:
        return None
    hello = 0
    if found.status != Status.ENDED:
        hello = services.child_here(conversation_id=found.pk)
    return found, services.settings_for(found.line_id), hello


def _flood_limit(conversation_id: int) -> tuple[int, int]:
    """(messages, seconds) each side of the conversation may send: its line's setting."""
    line_id = Conversation.objects.values_list("line_id", flat=True).get(pk=conversation_id)
    return services.settings_for(line_id).flood


def _child_welcome_data(conversation: Conversation) -> dict[str, Any]:
    from django.utils import timezone

    rules = services.settings_for(conversation.line_id)
    position = estimate = None
    if conversation.status == Status.WAITING:
        position = selectors.queue_position(conversation)
        estimate = selectors.estimate_minutes(conversation.line_id, position, timezone.now())
    return {
        "closes_at": selectors.closing_time(conversation),  # not sent in the welcome
        "last_seq": selectors.newest_seq_for_child(conversation.pk),
        "position": position,
        "estimate_minutes": estimate,
        "limits": {
            "max_chars": services.MAX_CHARS,
            "warn_after": rules.warn_after_seconds,
            "end_after": rules.end_after_seconds,
        },
    }


class ChildChatConsumer(OrderedSocket):
    """The child's socket. Authenticated by the token in the first frame."""

    is_child = True

    async def connect(self) -> None:
        await self.setup()
        self.conversation_id: int | None = None
        self.status = ""
        self.position: int | None = None
        self.estimate: int | None = None  # the wait the child was last told, in minutes
        self.line_id: int | None = None
        self.flood = (10, 10)
        await self.accept()
        if not same_origin(self.scope):
            await self.send_json(_error("origin"))
            await self.close(code=4403)
            return
        self.hello_timer = asyncio.ensure_future(self._hello_timeout())

    async def _hello_timeout(self) -> None:
        """A socket that says nothing is closed, with no error: on a slow network a page's
        hello can be this late, and the page only has to try again (an error it would
        read as the end of its chat)."""
        await asyncio.sleep(HELLO_TIMEOUT)
        if self.conversation_id is None:
            await self.close(code=HELLO_LATE)

    async def disconnect(self, code: int) -> None:
        timer = getattr(self, "hello_timer", None)
        if timer is not None:
            timer.cancel()
        hub.children.discard(self)
        await self.leave_all()
        if getattr(self, "hello_number", 0) and self.status != Status.ENDED:
            await db(services.child_gone)(
                conversation_id=self.conversation_id, hello=self.hello_number
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = await self.parse(text_data, bytes_data)
        if frame is None:
            return
        kind = frame["type"]
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        if kind == "hello":
            # The hello has arrived in time, however long the database takes to answer it
            # (a server busy after a restart must not turn reconnecting children away).
            timer = getattr(self, "hello_timer", None)
            if timer is not None:
                timer.cancel()
            await self.hello(frame)
            return
        if self.conversation_id is None:
            await self.send_json(_error("hello_first"))
            return
        if kind == "message":
            await self.post(frame)
        elif kind == "typing":
            if not hub.allow(self.conversation_id, "child-typing", limit=5, window=2):
                return  # typing signs are best effort: a flood of them is dropped
            hub.publish(
                conversation_group(self.conversation_id),
                {
                    "kind": "typing",
                    "conversation": self.conversation_id,
                    "side": "child",
                    "on": bool(frame.get("on")),
                },
            )
        elif kind == "end":
            await db(services.conversation_end)(
                conversation_id=self.conversation_id, reason=EndReason.CHILD
            )
        else:
            await self.send_json(_error("unknown_type"))

    async def hello(self, frame: dict[str, Any]) -> None:
        if self.conversation_id is not None:
            await self.send_json(_error("unknown_type"))
            return
        conversation_id, token = frame.get("conversation"), frame.get("token")
        if not isinstance(conversation_id, int) or not isinstance(token, str):
            await self.send_json(_error("bad_hello"))
            await self.close(code=4400)
            return
        opened = await db(_child_opening)(conversation_id, token)
        if opened is None:
            await self.send_json(_error("not_found"))
            await self.close(code=4404)
            return
        found, rules, self.hello_number = opened
        last_seq = frame.get("last_seq")
        after = last_seq if isinstance(last_seq, int) and last_seq >= 0 else 0
        self.conversation_id = found.pk
        self.line_id = found.line_id
        self.flood = rules.flood

        closing: list[datetime] = []

        async def header(conversation: Conversation, data: dict[str, Any]) -> None:
            closes_at = data.pop("closes_at")
            if closes_at is not None:
                closing.append(closes_at)
            self.status = conversation.status
            self.position, self.estimate = data["position"], data["estimate_minutes"]
            await self.send_json(
                {
                    "type": "welcome",
                    "conversation": conversation.pk,
                    "status": conversation.status,
                    **data,
                }
            )

        conversation = await self.follow(found.pk, after, header, _child_welcome_data)
        hub.children.add(self)
        if conversation.status == Status.ENDED:
            await self.send_end(conversation.end_reason)
            return
        # The warnings still true, again (the child may have been offline when they came).
        for closes_at in closing:
            await self.send_warning("closing", closes_at)
        quiet = services.quiet_since(conversation)
        if conversation.status == Status.ACTIVE and conversation.warned_at and quiet:
            await self.send_warning("inactive", quiet + timedelta(seconds=rules.end_after_seconds))

    async def send_warning(self, code: str, ends_at: datetime | str) -> None:
        when = ends_at if isinstance(ends_at, datetime) else datetime.fromisoformat(ends_at)
        await self.send_json(
            {
                "type": "warning",
                "code": code,
                "message": warning_message(code, when),
                "ends_at": services._iso(when),
            }
        )

    async def post(self, frame: dict[str, Any]) -> None:
        client_id = frame.get("id")
        extra = {"id": client_id} if isinstance(client_id, str) else {}
        if self.conversation_id is None:
            return
        limit, window = self.flood
        if not hub.allow(self.conversation_id, "child", limit=limit, window=window):
            await self.send_json(_error("too_fast", **extra))
            return
        try:
            posted = await self.post_own(
                conversation_id=self.conversation_id,
                sender=Sender.CHILD,
                client_id=client_id,
                text=frame.get("text"),
            )
        except services.ChatError as error:
            await self.send_json(_error(error.code, error.message, **extra))
            return
        if posted.created:  # delivered: now its risk, while the child's next frame is read
            spawn(assess(posted.message))

    async def send_item(self, item: dict[str, Any]) -> None:
        if item["from"] == Sender.CHILD and self.sent_here(item):
            await self.send_json(
                {"type": "ack", "id": item["id"], "seq": item["seq"], "at": item["at"]}
            )
            return
        await self.send_json(
            {
                "type": "message",
                "seq": item["seq"],
                "id": item["id"],
                "from": item["from"],
                "text": item["text"],
                "at": item["at"],
            }
        )

    async def send_end(self, reason: str) -> None:
        self.status = Status.ENDED
        await self.send_json({"type": "end", "reason": reason, "message": end_message(reason)})
        await self.close(code=4000)

    async def hub_event(self, group: str, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        if kind == "item":
            await self.deliver(event)
        elif kind == "typing" and event.get("side") == "listener":
            await self.send_json({"type": "typing", "on": bool(event.get("on"))})
        elif kind == "status":
            if event.get("status") == Status.ACTIVE and self.status != Status.ACTIVE:
                self.status = Status.ACTIVE
                self.position = None
                await self.send_json({"type": "status", "status": Status.ACTIVE, "at": event["at"]})
            elif event.get("status") == Status.WAITING and self.status == Status.ACTIVE:
                # Back in the queue (the listener was gone): the place follows.
                self.status = Status.WAITING
                self.position = self.estimate = None
                await self.send_json({"type": "status", "status": Status.WAITING})
                await self.queue_update(await hub.queue_snapshot())
        elif kind == "warning":
            await self.send_warning(event["code"], event["ends_at"])
        elif kind == "end":
            await self.catch_up(event)  # every message before the end, then the end
            await self.send_end(event["reason"])

    async def queue_update(self, snapshot: dict[str, Any]) -> None:
        if self.status != Status.WAITING or self.conversation_id is None:
            return
        entry = snapshot["positions"].get(self.conversation_id)
        if entry is None:
            return
        told = (entry["position"], entry["estimate_minutes"])
        if told != (self.position, self.estimate):  # a new place, or a new guess at the wait
            self.position, self.estimate = told
            await self.send_json(
                {
                    "type": "queue",
                    "position": entry["position"],
                    "estimate_minutes": entry["estimate_minutes"],
                }
            )


# --- staff ---------------------------------------------------------------------------------


@db
def _staff_identity(session_key: Any) -> tuple[Any, dict[str, Any]] | None:
    """The user of the staff session cookie, signed in, two-factor verified and allowed to
    use the console, else None. One trip to the chat's database thread (the session, the
    user, the device), where Channels' session and auth middleware would take a connection
    of their own for every socket and wrap every frame sent."""
    if not isinstance(session_key, str) or not session_key:
        return None
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    request = HttpRequest()  # Django's own checks (session hash, backend), as for a page
    request.session = session
    user = auth.get_user(request)
    if not user.is_authenticated or not user.is_active:
        return None
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    if device is None or device.user_id != user.pk or not device.confirmed:
        return None
    forget_scope(user)
    if not use_chat_console.test(user):
        return None
    console_opened([user.pk])
    from uketome.accounts.roles import Role

    return user, {
        "can_take": take_chat.test(user),
        "can_supervise": supervises_chats.test(user, None)
        or Role.SECRETARIAT in scope_of(user).roles,
        "sites": scope_of(user).sites_for([Role.SUPPORTER, Role.SUPERVISOR]),
        "all_sites": Role.SECRETARIAT in scope_of(user).roles,
        "name": services._name(user),
    }


class StaffChatConsumer(OrderedSocket):
    """The console's socket: the queue, one's chats, supervision."""

    async def connect(self) -> None:
        await self.setup()
        self.user: Any = None
        self.own: set[int] = set()
        self.watching: set[int] = set()
        self.floods: dict[int, tuple[int, int]] = {}  # conversation: its line's flood limit
        self.greeted = False
        if not same_origin(self.scope):
            await self.accept()
            await self.send_json(_error("origin"))
            await self.close(code=4403)
            return
        cookies = self.scope.get("cookies", {})  # CookieMiddleware (routing.py)
        found = await _staff_identity(cookies.get(settings.SESSION_COOKIE_NAME))
        if found is None:
            await self.close(code=4403)
            return
        self.user, identity = found
        self.identity = identity
        await self.accept()
        await hub.join(staff_group(self.user.pk), self)
        self.groups_followed.add(staff_group(self.user.pk))
        if identity["can_supervise"]:
            await hub.join(SUPERVISORS_GROUP, self)
            self.groups_followed.add(SUPERVISORS_GROUP)
        hub.staff.add(self)

    async def disconnect(self, code: int) -> None:
        await hub.console_gone(self)
        await self.leave_all()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = await self.parse(text_data, bytes_data)
        if frame is None:
            return
        kind = frame["type"]
        handler = getattr(self, f"do_{kind}", None) if kind.isidentifier() else None
        if handler is None:
            await self.send_json(_error("unknown_type"))
            return
        try:
            await handler(frame)
        except services.ChatError as error:
            await self.send_json(_error(error.code, error.message, **_echo(frame)))

    async def do_ping(self, frame: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})

    async def do_hello(self, frame: dict[str, Any]) -> None:
        raw_seen, raw_own = frame.get("last_seq"), frame.get("own")
        seen: dict[str, Any] = raw_seen if isinstance(raw_seen, dict) else {}
        own: list[Any] = raw_own if isinstance(raw_own, list) else []
        mine = await db(selectors.active_for_listener)(self.user)
        snapshot = await hub.queue_snapshot()
        limit = await db(_max_limit)()
        await self.send_json(
            {
                "type": "welcome",
                "me": {"id": self.user.pk, "name": self.identity["name"]},
                "can_take": self.identity["can_take"],
                "can_supervise": self.identity["can_supervise"],
                "limit": limit,
                "conversations": [selectors.summary(c) for c in mine],
                "queue": snapshot["items"][:QUEUE_SHOWN],
                "waiting": len(snapshot["items"]),
                "load": self._load(snapshot)["listeners"] if self.identity["can_supervise"] else [],
            }
        )
        if self.identity["can_supervise"]:
            await self.send_json(self._load(snapshot))
        self.greeted = True

        def after(conversation_id: int) -> int:
            value = seen.get(str(conversation_id), 0)
            return value if isinstance(value, int) else 0

        for conversation in mine:
            self.own.add(conversation.pk)
            await self.follow(conversation.pk, after(conversation.pk))
        # The chats the console still shows as its own that are no longer (they ended or
        # were handed on while it was away): what it missed of an ended one, then the end.
        lost = [i for i in own[:MAX_OWN] if type(i) is int and i not in self.own]
        ended = await db(selectors.ended_with_listener)(self.user, lost) if lost else []
        for conversation in ended:
            self.own.add(conversation.pk)
            await self.follow(conversation.pk, after(conversation.pk))
            await self.hub_event(
                conversation_group(conversation.pk),
                {
                    "kind": "end",
                    "conversation": conversation.pk,
                    "reason": conversation.end_reason,
                    "last_seq": conversation.last_seq,
                },
            )
        gone = sorted(set(lost) - {c.pk for c in ended})
        returned = await db(selectors.returned_from)(self.user, gone) if gone else set()
        for conversation_id in gone:
            reason = "returned" if conversation_id in returned else "gone"
            await self.send_json(
                {"type": "released", "conversation": conversation_id, "reason": reason, "to": None}
            )

    async def do_take_next(self, frame: dict[str, Any]) -> None:
        line = frame.get("line") if isinstance(frame.get("line"), int) else None
        conversation = await db(services.conversation_claim_next)(actor=self.user, line_id=line)
        await self._assigned(conversation.pk)

    async def _assigned(self, conversation_id: int) -> None:
        if conversation_id in self.own:
            return
        self.own.add(conversation_id)

        async def header(conversation: Conversation, _data: Any = None) -> None:
            await self.send_json(
                {"type": "assigned", "conversation": selectors.summary(conversation)}
            )

        if conversation_id in self.delivered:  # already watching: keep the stream
            conversation = await db(selectors.conversation_by_id)(conversation_id)
            await header(conversation)
            return
        await self.follow(conversation_id, 0, header)

    async def _own_conversation(self, frame: dict[str, Any]) -> int:
        conversation_id = frame.get("conversation")
        if not isinstance(conversation_id, int):
            raise services.ChatError("not_found", _messages()["not_found"])
        if conversation_id not in self.own:
            raise services.ChatError("not_yours", _messages()["not_yours"])
        return conversation_id

    async def _post(self, frame: dict[str, Any], sender: str, conversation_id: int) -> None:
        flood = self.floods.get(conversation_id)
        if flood is None:  # the line's limit, as for the child (read once per chat)
            flood = self.floods[conversation_id] = await db(_flood_limit)(conversation_id)
        limit, window = flood
        if not hub.allow(conversation_id, f"staff{self.user.pk}", limit=limit, window=window):
            raise services.ChatError("too_fast", _messages()["too_fast"])
        await self.post_own(
            conversation_id=conversation_id,
            sender=sender,
            client_id=frame.get("id"),
            text=frame.get("text"),
            author=self.user,
        )

    async def do_send(self, frame: dict[str, Any]) -> None:
        conversation_id = await self._own_conversation(frame)
        await self._post(frame, Sender.LISTENER, conversation_id)

    def _followed(self, frame: dict[str, Any], among: set[int]) -> int:
        conversation_id = frame.get("conversation")
        if not isinstance(conversation_id, int) or conversation_id not in among:
            raise services.ChatError("not_yours", _messages()["not_yours"])
        return conversation_id

    async def do_note(self, frame: dict[str, Any]) -> None:
        conversation_id = self._followed(frame, self.own | self.watching)
        await self._post(frame, Sender.NOTE, conversation_id)

    async def do_whisper(self, frame: dict[str, Any]) -> None:
        conversation_id = self._followed(frame, self.watching)
        await self._post(frame, Sender.WHISPER, conversation_id)

    async def do_typing(self, frame: dict[str, Any]) -> None:
        conversation_id = await self._own_conversation(frame)
        if not hub.allow(conversation_id, "listener-typing", limit=5, window=2):
            return
        hub.publish(
            conversation_group(conversation_id),
            {
                "kind": "typing",
                "conversation": conversation_id,
                "side": "listener",
                "on": bool(frame.get("on")),
            },
        )

    async def do_watch(self, frame: dict[str, Any]) -> None:
        conversation_id = frame.get("conversation")
        found = await db(selectors.conversation_to_watch)(self.user, conversation_id)
        if found is None:
            raise services.ChatError("not_found", _messages()["not_found"])
        self.watching.add(found.pk)
        raw = frame.get("last_seq")
        after = raw if isinstance(raw, int) else 0

        async def header(conversation: Conversation, _data: Any = None) -> None:
            await self.send_json(
                {"type": "watching", "conversation": selectors.summary(conversation)}
            )

        if found.pk in self.delivered:
            await header(found)
            return
        await self.follow(found.pk, after, header)

    async def do_unwatch(self, frame: dict[str, Any]) -> None:
        conversation_id = frame.get("conversation")
        if isinstance(conversation_id, int) and conversation_id in self.watching:
            self.watching.discard(conversation_id)
            if conversation_id not in self.own:
                await self.unfollow(conversation_id)

    async def do_takeover(self, frame: dict[str, Any]) -> None:
        conversation_id = frame.get("conversation")
        found = await db(selectors.live_conversation_for)(
            self.user, conversation_id, take_over_chat
        )
        if found is None:
            raise services.ChatError("not_found", _messages()["not_found"])
        await db(services.conversation_take_over)(actor=self.user, conversation=found)
        await self._assigned(found.pk)

    async def do_targets(self, frame: dict[str, Any]) -> None:
        """Whom the user may hand a chat to, and who of them has the console open."""
        people = await db(selectors.transfer_targets, later=True)(self.user)
        await self.send_json({"type": "targets", "people": people})

    async def do_transfer(self, frame: dict[str, Any]) -> None:
        conversation_id = frame.get("conversation")
        found = await db(selectors.live_conversation_for)(self.user, conversation_id, transfer_chat)
        if found is None:
            raise services.ChatError("not_found", _messages()["not_found"])
        target = await db(_user)(frame.get("to"))
        await db(services.conversation_transfer)(actor=self.user, conversation=found, to=target)

    async def do_end(self, frame: dict[str, Any]) -> None:
        conversation_id = frame.get("conversation")
        if not (isinstance(conversation_id, int) and conversation_id in self.own):
            found = await db(selectors.live_conversation_for)(
                self.user, conversation_id, take_over_chat
            )
            if found is None:
                raise services.ChatError("not_found", _messages()["not_found"])
            conversation_id = found.pk
        await db(services.conversation_end)(
            conversation_id=conversation_id, reason=EndReason.LISTENER, actor=self.user
        )

    # --- events ----------------------------------------------------------------------
    async def send_item(self, item: dict[str, Any]) -> None:
        if item["from"] != Sender.CHILD and self.sent_here(item):
            await self.send_json(
                {
                    "type": "ack",
                    "conversation": item["conversation"],
                    "id": item["id"],
                    "seq": item["seq"],
                    "at": item["at"],
                }
            )
            return
        await self.send_json(
            {
                "type": "message",
                "conversation": item["conversation"],
                "seq": item["seq"],
                "id": item["id"],
                "from": item["from"],
                "author": item["author"],
                "text": item["text"],
                "at": item["at"],
                "risk": item["risk"],
            }
        )

    async def hub_event(self, group: str, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        conversation_id = int(event.get("conversation") or 0)
        if kind == "item":
            await self.deliver(event)
        elif kind == "risk":
            async with self.lock:  # after the message it is about
                pass
            await self.send_json(
                {
                    "type": "risk",
                    "conversation": conversation_id,
                    "seq": event["seq"],
                    "risk": event["risk"],
                }
            )
        elif kind == "typing" and event.get("side") == "child":
            await self.send_json(
                {"type": "typing", "conversation": conversation_id, "on": event["on"]}
            )
        elif kind == "status":
            await self.send_json(
                {
                    "type": "status",
                    "conversation": conversation_id,
                    "status": event["status"],
                    "listener": event.get("listener"),
                }
            )
            if conversation_id in self.watching and conversation_id not in self.own:
                await self._may_still_watch(conversation_id, event["status"])
        elif kind == "warning":
            await self.send_json(
                {
                    "type": "warning",
                    "conversation": conversation_id,
                    "code": event["code"],
                    "ends_at": event["ends_at"],
                }
            )
        elif kind == "end":
            await self.catch_up(event)
            frame: dict[str, Any] = {
                "type": "end",
                "conversation": conversation_id,
                "reason": event["reason"],
            }
            if conversation_id in self.own:
                frame["record_url"] = reverse("chat:record", args=[conversation_id])
            self.own.discard(conversation_id)
            self.watching.discard(conversation_id)
            await self.send_json(frame)
            await self.unfollow(conversation_id)
        elif kind == "alert":
            site = event.get("site_id")
            if not (self.identity["all_sites"] or site is None or site in self.identity["sites"]):
                return
            await self.send_json(
                {
                    "type": "alert",
                    "conversation": conversation_id,
                    "risk": event["risk"],
                    "categories": event.get("categories", []),
                }
            )
        elif kind == "assigned":
            await self._assigned(conversation_id)
        elif kind == "released":
            if conversation_id in self.own:
                self.own.discard(conversation_id)
                await self.send_json(
                    {
                        "type": "released",
                        "conversation": conversation_id,
                        "reason": event["reason"],
                        "to": event.get("to"),
                    }
                )
                if conversation_id not in self.watching:
                    await self.unfollow(conversation_id)

    async def _may_still_watch(self, conversation_id: int, status: str) -> None:
        """The chat changed hands: a watcher whose role no longer covers it (it went to a
        listener of another site, or back to the queue) stops following it."""
        allowed = await db(selectors.live_conversation_for)(self.user, conversation_id, watch_chat)
        if allowed is None and conversation_id in self.watching:
            self.watching.discard(conversation_id)
            await self.unfollow(conversation_id)
            reason = "returned" if status == Status.WAITING else "moved"
            await self.send_json(
                {"type": "released", "conversation": conversation_id, "reason": reason, "to": None}
            )

    async def queue_update(self, snapshot: dict[str, Any]) -> None:
        if not getattr(self, "greeted", False):
            return
        # Encoded once per push for every console (and once per site scope for the load).
        await self.send(
            text_data=_encoded(
                snapshot,
                "queue",
                lambda: {
                    "type": "queue",
                    "items": snapshot["items"][:QUEUE_SHOWN],
                    "waiting": len(snapshot["items"]),
                },
            )
        )
        if self.identity["can_supervise"]:
            scope = ("load", self.identity["all_sites"], tuple(sorted(self.identity["sites"])))
            await self.send(text_data=_encoded(snapshot, scope, lambda: self._load(snapshot)))

    def _load(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        sites = self.identity["sites"]
        active = [a for a in snapshot["active"] if self.identity["all_sites"] or a["site"] in sites]
        listeners: dict[int, dict[str, Any]] = {}
        for entry in active:
            row = listeners.setdefault(
                entry["listener_id"],
                {"id": entry["listener_id"], "name": entry["listener"], "active": 0},
            )
            row["active"] += 1
        return {
            "type": "load",
            "listeners": list(listeners.values()),
            "active": [
                {
                    "conversation": a["conversation"],
                    "listener": a["listener"],
                    "line_name": a["line_name"],
                    "risk": a["risk"],
                    "since": a["since"],
                }
                for a in active
            ],
        }


def _encoded(snapshot: dict[str, Any], key: Any, frame: Callable[[], dict[str, Any]]) -> str:
    """A frame made from a queue snapshot, JSON-encoded once for all the sockets it goes to."""
    cache = snapshot.setdefault("encoded", {})
    if key not in cache:
        cache[key] = json.dumps(frame(), ensure_ascii=False)
    return str(cache[key])


def _max_limit() -> int:
    lines = services.chat_lines()
    return max((services.settings_for(line).max_per_listener for line in lines), default=2)


def _user(user_id: Any) -> Any:
    from uketome.accounts.models import User

    if not isinstance(user_id, int):
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()
