"""Delivery of chat events: in-process first, across processes through the channel layer.

Services store first and call ``publish_on_commit(group, event)``; after the commit the
event reaches:

- the sockets of this process that follow ``group``, directly (no channel layer): the
  fast path that keeps p99 low (docs/chat-protocol.md, "Across processes");
- the other processes, through the channel layer, when it is not the in-memory layer (the
  in-memory layer serves one process only and is slow under load). Each process has ONE
  channel on the layer and joins a group once for all its local sockets; an event that
  comes back to the process that sent it is ignored.

The layer is at-most-once: a missed event is healed by the consumers' gap fill and by the
clients' resume from the database.

The hub also runs, per process, the timers (inactivity, closing time, children gone while
waiting) and the queue pushes (positions for waiting children, the queue and the load for
staff), each computed once per change for all local sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import queue
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from concurrent.futures import Future
from typing import Any, Generic, Protocol, TypeVar

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")

PROCESS_ID = uuid.uuid4().hex
QUEUE_GROUP = "chat.queue"
SNAPSHOT_SECONDS = 1.0
SUPERVISORS_GROUP = "chat.supervisors"


class DatabaseThread:
    """A thread of its own for the chat's database work, calls taken in order.

    Not asgiref's ``sync_to_async``: that costs a context switch dance and a lock per
    call, and shares its thread with every other sync call of the process (sessions,
    sign-ins). Each process has two (``db``): one for what a person is waiting for (a
    message being sent, a hello, a claim) and one for what can wait (scoring a message
    already delivered, the sweep, queue reads), so a child's message never queues behind
    the assessment of another or behind the sweep.

    **Group commit.** Calls marked ``together`` (a chat message being stored) that are
    waiting one behind the other when the thread turns to the first of them run in ONE
    transaction, each in a savepoint of its own (its ``transaction.atomic()``), committed
    once; every caller then gets its own result or error. Messages come in clumps (a
    few within a millisecond or two, from chats that have nothing to do with each other):
    one at a time, the last of a clump waited for every commit before it; together, the
    clump costs one commit. A call waits for no one: the group is only what is already
    queued.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.queue: queue.SimpleQueue[tuple[Callable[[], Any], Any, bool]] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, call: Callable[[], T]) -> Future[T]:
        """From any thread: a future to wait on (``result()``)."""
        future: Future[T] = Future()
        self._put(call, future)
        return future

    def run(self, call: Callable[[], T], *, together: bool = False) -> asyncio.Future[T]:
        """From the event loop: an asyncio future, settled on that loop by one callback.
        Every chat message takes this path twice; ``asyncio.wrap_future(submit(...))``
        would cost a second future with its lock and a chain of copies between the two.
        ``together``: may share a transaction with the calls queued next to it (see the
        class)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        self._put(call, (loop, waiter), together)
        return waiter

    def _put(self, call: Callable[[], Any], target: Any, together: bool = False) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._work, name=self.name, daemon=True)
                self.thread.start()
        self.queue.put((call, target, together))

    def close_connections(self) -> None:
        """Close the thread's database connections (at the end of a test run: PostgreSQL
        will not drop a test database that a session still uses)."""
        if self.thread is not None:
            self.submit(connections.close_all).result(timeout=30)

    def _work(self) -> None:
        held: tuple[Callable[[], Any], Any, bool] | None = None
        while True:
            item, held = held or self.queue.get(), None
            call, target, together = item
            if together:
                group = [item]
                while len(group) < MAX_TOGETHER:
                    try:
                        following = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if not following[2]:
                        held = following  # runs next, in its turn
                        break
                    group.append(following)
                if len(group) > 1:
                    self._run_together([(c, t) for c, t, _ in group])
                    continue
            if isinstance(target, Future):
                if not target.set_running_or_notify_cancel():
                    continue
                try:
                    target.set_result(call())
                except BaseException as error:  # handed to the waiting thread
                    target.set_exception(error)
                continue
            loop, waiter = target
            if waiter.cancelled():  # nobody waits for it any more (a socket closed)
                continue
            result: Any = None
            failure: BaseException | None = None
            try:
                result = call()
            except BaseException as error:  # handed to the awaiting coroutine
                failure = error
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                loop.call_soon_threadsafe(_settle, waiter, result, failure)

    @staticmethod
    def _run_together(group: list[tuple[Callable[[], Any], Any]]) -> None:
        """Calls from the event loop in one transaction (``run_together``). Callers learn
        their outcome after the commit (their events are published by then)."""
        live = [(call, target) for call, target in group if not target[1].cancelled()]
        outcomes = run_together([call for call, _target in live])
        for (_call, (loop, waiter)), (result, failure) in zip(live, outcomes, strict=True):
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, waiter, result, failure)


def run_together(calls: Sequence[Callable[[], Any]]) -> list[tuple[Any, BaseException | None]]:
    """Run ``calls`` in ONE transaction, each call's own atomic block a savepoint in it, so
    one that fails takes back only its own writes; committed once. Returns each call's
    (result, error). The chat's group commit: ``DatabaseThread`` and the store process
    (``chat.store``). One call alone is its own transaction (no savepoint)."""
    outcomes: list[tuple[Any, BaseException | None]] = []
    try:
        with transaction.atomic() if len(calls) > 1 else contextlib.nullcontext():
            for call in calls:
                try:
                    outcomes.append((call(), None))
                except BaseException as error:  # handed to its caller; the others go on
                    outcomes.append((None, error))
    except BaseException as error:  # the commit failed: nothing of the group is stored
        outcomes = [(None, error)] * len(calls)
    finally:
        _close_if_failed()
    return outcomes


#: The most calls one group commit takes (the rest form the next group).
MAX_TOGETHER = 64


def _close_if_failed() -> None:
    """Close a connection that failed (the next call opens a new one)."""
    for conn in connections.all(initialized_only=True):
        if conn.errors_occurred and not conn.is_usable():
            conn.close()


def _settle(waiter: asyncio.Future[Any], result: Any, failure: BaseException | None) -> None:
    if waiter.cancelled():
        return
    if failure is not None:
        waiter.set_exception(failure)
    else:
        waiter.set_result(result)


database_thread = DatabaseThread("uketome-chat-db")
background_thread = DatabaseThread("uketome-chat-background")


def db(
    function: Callable[..., T], *, later: bool = False, together: bool = False
) -> Callable[..., Awaitable[T]]:
    """Run ``function`` in the chat's database thread, keeping its connection (``later``:
    in the background thread, for work nobody is waiting for; ``together``: it may share
    a transaction with the calls queued next to it, see ``DatabaseThread``: its writes
    must be in a ``transaction.atomic()`` block of its own).

    Channels' ``database_sync_to_async`` closes "old" connections around every call; with
    CONN_MAX_AGE 0 (both databases, config.py) that is a new connection (on SQLite with its
    PRAGMAs) for every chat message, several milliseconds each. Here a connection is closed
    only when it failed.
    """

    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return function(*args, **kwargs)
        finally:
            if not transaction.get_connection().in_atomic_block:  # a group closes it after
                _close_if_failed()

    thread = background_thread if later else database_thread

    async def call(*args: Any, **kwargs: Any) -> T:
        context = contextvars.copy_context()
        return await thread.run(
            functools.partial(context.run, run, *args, **kwargs), together=together
        )

    return call


class Batch(Generic[T]):
    """Items written together: ``write(items)`` runs on the chat's database thread with
    what gathered during ``seconds`` after the first (one statement instead of one per
    item, and none in the way of the messages in between). What is pending when the
    process dies is lost: use it only for what something else repairs (the sweep)."""

    def __init__(self, write: Callable[[list[T]], Any], seconds: float = 0.5) -> None:
        self.write = write
        self.seconds = seconds
        self.items: list[T] = []
        self.task: asyncio.Future[None] | None = None

    def add(self, item: T) -> None:
        self.items.append(item)
        task = self.task
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            self.task = spawn(self._flush())

    async def _flush(self) -> None:
        while self.items:
            await asyncio.sleep(self.seconds)
            items, self.items = self.items, []
            await db(self.write)(items)


def conversation_group(conversation_id: int) -> str:
    return f"chat.c.{conversation_id}"


def staff_group(user_id: int) -> str:
    return f"chat.u.{user_id}"


# --- who has a console open (in any process: the cache is Redis with UKETOME_REDIS_URL) ---
#: A console counts as open this long after its process last said so; each process says
#: it again for its consoles every CONSOLE_RENEW_SECONDS.
CONSOLE_SECONDS = 60
CONSOLE_RENEW_SECONDS = 20
#: A waiting child's wait is guessed again this often even when the queue has not moved
#: (the pace of the last hour changes as time goes by).
WAIT_RENEW_SECONDS = 60


def _console_key(user_id: int) -> str:
    return f"chat:console:{user_id}"


def console_opened(user_ids: Sequence[int]) -> None:
    """Note that these users have a console open (database thread: the cache may be Redis)."""
    if user_ids:
        try:  # an outage of the cache must not keep a console out
            cache.set_many({_console_key(pk): 1 for pk in user_ids}, CONSOLE_SECONDS)
        except Exception:
            logger.exception("chat: could not note the open consoles")


def console_closed(user_id: int) -> None:
    """The user's last console in this process closed. Another process that still holds
    one of theirs says so again within CONSOLE_RENEW_SECONDS."""
    try:
        cache.delete(_console_key(user_id))
    except Exception:
        logger.exception("chat: could not note a console closed")


def console_open(user_id: int) -> bool:
    """Whether the user has the chat console open somewhere (to hand a chat to them).
    True when the cache cannot be read: an outage must not stop a hand-over."""
    try:
        return user_id in consoles_open([user_id])
    except Exception:
        logger.exception("chat: could not read which consoles are open")
        return True


def consoles_open(user_ids: Sequence[int]) -> set[int]:
    """Which of these users have the chat console open somewhere (one read of the cache)."""
    found = cache.get_many([_console_key(pk) for pk in user_ids])
    return {pk for pk in user_ids if _console_key(pk) in found}


class Member(Protocol):
    async def hub_event(self, group: str, event: dict[str, Any]) -> None: ...


class Hub:
    """One per process (per event loop: tests run each scenario in a loop of its own)."""

    #: Set by ``capture``: where the events published on commit go instead.
    sink: Callable[[str, dict[str, Any]], Any] | None = None

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.members: dict[str, set[Member]] = defaultdict(set)
        self.children: set[Any] = set()
        self.staff: set[Any] = set()
        self.layer: Any = None
        self.channel: str | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.floods: dict[tuple[int, str], deque[float]] = {}
        self.queue_dirty = False
        self.queue_task: asyncio.Future[Any] | None = None
        self.queue_version = 0  # counts queue changes heard in this process
        self.snapshot: dict[str, Any] | None = None
        self.snapshot_at = (-1, 0.0)  # (queue_version, monotonic time) it was read at
        self.snapshot_reading: asyncio.Future[tuple[dict[str, Any], int]] | None = None
        self.connecting: asyncio.Task[None] | None = None  # to the channel layer
        self.subscribing: dict[str, asyncio.Task[None]] = {}  # group: its group_add

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Start the hub in the running loop: its timers, and its channel on the layer
        (with ``UKETOME_REDIS_URL``). Sockets that join at once (all of them, after a
        restart) wait for the one connection; one that failed (Redis unreachable) is
        tried again by the next socket, and the timers run meanwhile."""
        loop = asyncio.get_running_loop()
        if self.loop is not loop:
            self.__init__()  # type: ignore[misc]  # a new loop: nothing of the old one is valid
            self.loop = loop
            self.tasks.append(loop.create_task(self._sweep_forever()))
            self.tasks.append(loop.create_task(self._consoles_forever()))
            self.tasks.append(loop.create_task(self._waits_forever()))
        if _failed(self.connecting):
            self.connecting = None
        if self.connecting is None:
            self.connecting = loop.create_task(self._connect_layer())
        await asyncio.shield(self.connecting)

    async def _connect_layer(self) -> None:
        layer = get_channel_layer()
        if layer is None or isinstance(layer, InMemoryChannelLayer):
            return
        channel = await layer.new_channel()
        await layer.group_add(QUEUE_GROUP, channel)
        self.layer, self.channel = layer, channel
        self.tasks.append(asyncio.get_running_loop().create_task(self._read_layer()))

    async def _read_layer(self) -> None:
        if self.layer is None or self.channel is None:
            return
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("chat: channel layer receive failed")
                await asyncio.sleep(1)
                continue
            if message.get("origin") == PROCESS_ID:
                continue
            self._fan_out(message["group"], message["event"])

    async def _sweep_forever(self) -> None:
        from uketome.chat import services

        interval = float(getattr(settings, "CHAT_SWEEP_SECONDS", 5))
        while True:
            await asyncio.sleep(interval)
            try:
                await db(services.sweep, later=True)()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("chat: sweep failed")

    async def _consoles_forever(self) -> None:
        while True:
            await asyncio.sleep(CONSOLE_RENEW_SECONDS)
            try:
                await db(console_opened, later=True)(sorted(self.console_users()))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("chat: could not renew the open consoles")

    async def _waits_forever(self) -> None:
        from uketome.chat.models import Status

        while True:
            await asyncio.sleep(WAIT_RENEW_SECONDS)
            if any(child.status == Status.WAITING for child in self.children):
                try:
                    snapshot, _version = await self.read_snapshot()
                except Exception:
                    logger.exception("chat: could not read the queue")
                    continue
                for child in list(self.children):  # the consoles have nothing new
                    await _safe(child.queue_update(snapshot))

    def console_users(self) -> set[int]:
        return {member.user.pk for member in self.staff if member.user is not None}

    async def console_gone(self, member: Any) -> None:
        """A console socket closed: if it was the user's last one here, they no longer
        have a console open (as far as this process knows)."""
        self.staff.discard(member)
        if member.user is not None and member.user.pk not in self.console_users():
            try:
                await db(console_closed, later=True)(member.user.pk)
            except Exception:
                logger.exception("chat: could not note a console closed")

    # --- membership --------------------------------------------------------------------
    async def join(self, group: str, member: Member) -> None:
        """Hear ``group``'s events from now on: in this process at once, from the others
        once the process's subscription to the group is made (every member joining
        meanwhile waits for that one subscription). Raises, and leaves the member out,
        if it cannot be made."""
        await self.start()
        self.members[group].add(member)
        if self.layer is None or group == QUEUE_GROUP:
            return
        subscribing = self.subscribing.get(group)
        if subscribing is None or _failed(subscribing):
            subscribing = asyncio.get_running_loop().create_task(
                self.layer.group_add(group, self.channel)
            )
            self.subscribing[group] = subscribing
        try:
            await asyncio.shield(subscribing)
        except BaseException:
            await self.leave(group, member)
            raise

    async def leave(self, group: str, member: Member) -> None:
        members = self.members.get(group)
        if not members:
            return
        members.discard(member)
        if not members:
            del self.members[group]
            subscribed = self.subscribing.pop(group, None)
            if self.layer is not None and group != QUEUE_GROUP and not _failed(subscribed):
                try:
                    await self.layer.group_discard(group, self.channel)
                except Exception:
                    logger.exception("chat: group_discard failed")

    # --- publishing --------------------------------------------------------------------
    def publish(self, group: str, event: dict[str, Any]) -> None:
        """Deliver now (call in the hub's loop)."""
        self._fan_out(group, event)
        if self.layer is not None:
            message = {
                "type": "chat.event",
                "origin": PROCESS_ID,
                "group": group,
                "event": event,
            }
            spawn(self._layer_send(group, message))

    async def _layer_send(self, group: str, message: dict[str, Any]) -> None:
        await self.layer.group_send(group, message)

    def publish_threadsafe(self, group: str, event: dict[str, Any]) -> None:
        """From a worker thread (a service's on_commit): hand over to the loop (or to the
        ``sink``, see ``capture``)."""
        if self.sink is not None:
            self.sink(group, event)
            return
        loop = self.loop
        if loop is None or loop.is_closed():
            self._publish_without_loop(group, event)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.publish(group, event)
        else:
            # A fresh context: the worker thread's (asgiref's thread markers) must not
            # leak into the tasks the fan-out starts.
            loop.call_soon_threadsafe(self.publish, group, event, context=contextvars.Context())

    def capture(self, sink: Callable[[str, dict[str, Any]], Any] | None) -> None:
        """Hand every event published on commit to ``sink`` rather than publishing it: the
        store process (``chat.store``) has no sockets; it sends its events to the server
        process, which publishes them."""
        self.sink = sink

    def _publish_without_loop(self, group: str, event: dict[str, Any]) -> None:
        # No socket in this process (e.g. a management command): other processes only.
        layer = get_channel_layer()
        if layer is None or isinstance(layer, InMemoryChannelLayer):
            return
        from asgiref.sync import async_to_sync

        message = {"type": "chat.event", "origin": PROCESS_ID, "group": group, "event": event}
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:
            logger.exception("chat: could not publish to %s", group)

    def _fan_out(self, group: str, event: dict[str, Any]) -> None:
        if group == QUEUE_GROUP:
            self.queue_changed()
            return
        for member in list(self.members.get(group, ())):
            start(member.hub_event(group, event))

    # --- queue pushes (once per change for all local sockets) --------------------------
    def queue_changed(self) -> None:
        self.queue_version += 1
        if self.queue_task is not None and not self.queue_task.done():
            self.queue_dirty = True
            return
        self.queue_task = spawn(self._push_queue())

    async def _push_queue(self) -> None:
        while True:
            self.queue_dirty = False
            await asyncio.sleep(0.05)  # gather a burst of changes into one push
            if self.children or self.staff:
                wanted = self.queue_version
                snapshot, version = await self.read_snapshot()
                while version < wanted:  # joined a read that began before the change
                    snapshot, version = await self.read_snapshot()
                for child in list(self.children):
                    await _safe(child.queue_update(snapshot))
                for member in list(self.staff):
                    await _safe(member.queue_update(snapshot))
            if not self.queue_dirty:
                return

    async def queue_snapshot(self) -> dict[str, Any]:
        """The queue as it is, read once for every socket that asks at the same moment (a
        console's hello): after a restart hundreds of consoles say hello at once, and the
        queue is one read, not hundreds. A snapshot is reused while no change has been
        heard and for at most ``SNAPSHOT_SECONDS``."""
        version, read_at = self.snapshot_at
        fresh = time.monotonic() - read_at < SNAPSHOT_SECONDS
        if self.snapshot is not None and version == self.queue_version and fresh:
            return self.snapshot
        snapshot, _version = await self.read_snapshot()
        return snapshot

    async def read_snapshot(self) -> tuple[dict[str, Any], int]:
        """Read the queue now, joining a read already on its way; with the count of queue
        changes heard when that read began."""
        from uketome.chat import selectors

        if self.snapshot_reading is None:
            self.snapshot_reading = asyncio.ensure_future(self._read(selectors.queue_snapshot))
        return await asyncio.shield(self.snapshot_reading)

    async def _read(self, read: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], int]:
        at = (self.queue_version, time.monotonic())
        try:
            snapshot = await db(read, later=True)()
        finally:
            self.snapshot_reading = None
        self.snapshot, self.snapshot_at = snapshot, at
        return snapshot, at[0]

    # --- floods ------------------------------------------------------------------------
    def allow(self, conversation_id: int, side: str, *, limit: int, window: int) -> bool:
        now = time.monotonic()
        if len(self.floods) > 10_000:  # forget conversations quiet for a minute
            self.floods = {k: v for k, v in self.floods.items() if v and v[-1] > now - 60}
        stamps = self.floods.setdefault((conversation_id, side), deque())
        while stamps and stamps[0] <= now - window:
            stamps.popleft()
        if len(stamps) >= limit:
            return False
        stamps.append(now)
        return True


async def _safe(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception as error:
        if type(error).__name__ in GONE:
            logger.info("chat: a client left before a push reached it")
            return
        logger.exception("chat: push failed")


def spawn(awaitable: Awaitable[T]) -> asyncio.Future[T]:
    """Run ``awaitable`` on its own in the running loop; a failure is logged."""
    task = asyncio.ensure_future(awaitable)
    task.add_done_callback(_log_failure)
    return task


def start(coroutine: Coroutine[Any, Any, Any]) -> None:
    """Run ``coroutine`` now, up to its first wait; only if it has to wait does a task take
    over the rest (a failure is logged, as with ``spawn``). What Python 3.12 calls an eager
    task: a delivery to a socket almost never waits (its lock is free, the frame is
    written at once), and a task for each socket of each message was a tenth of the
    event loop's time."""
    try:
        waiting_for = coroutine.send(None)
    except StopIteration:
        return
    except Exception as error:
        _log_error(error)
        return
    task = asyncio.ensure_future(_Rest(coroutine, waiting_for).run())
    task.add_done_callback(_log_failure)


class _Rest:
    """The rest of a coroutine begun outside a task. Awaited by one, it hands the task
    what the coroutine waits for and passes back what the task sends or throws, as
    ``await coroutine`` would have from the start."""

    def __init__(self, coroutine: Coroutine[Any, Any, Any], waiting_for: Any) -> None:
        self.coroutine = coroutine
        self.waiting_for = waiting_for

    async def run(self) -> Any:
        return await self

    def __await__(self) -> Generator[Any, Any, Any]:
        waiting_for = self.waiting_for
        while True:
            try:
                sent = yield waiting_for
            except BaseException as error:  # the task's cancellation, say
                try:
                    waiting_for = self.coroutine.throw(error)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    waiting_for = self.coroutine.send(sent)
                except StopIteration as stop:
                    return stop.value


def _failed(task: asyncio.Future[Any] | None) -> bool:
    """Whether ``task`` has ended without doing its work (failed or cancelled)."""
    return task is not None and task.done() and (task.cancelled() or task.exception() is not None)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        _log_error(error)


def _log_error(error: BaseException) -> None:
    if type(error).__name__ in GONE:
        # The socket closed while a frame was on its way: the client resumes from its
        # last sequence number when it returns, so nothing is lost. One line, no trace.
        logger.info("chat: a client left before a frame reached it")
        return
    logger.error("chat: delivery failed", exc_info=error)


# Errors that only say the other end has gone (uvicorn, websockets, Channels).
GONE = frozenset({"ClientDisconnected", "ConnectionClosed", "ConnectionClosedOK", "Disconnected"})


hub = Hub()


def publish_on_commit(group: str, event: dict[str, Any]) -> None:
    """The only way chat services publish: after the transaction commits."""
    transaction.on_commit(lambda: hub.publish_threadsafe(group, event))
