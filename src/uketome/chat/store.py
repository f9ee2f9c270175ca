"""Chat messages stored in a process of their own, for the server processes (``uketome serve``).

Storing a chat message (``services.message_post``: the number, the encryption, the INSERT,
the commit) took about a millisecond of the interpreter's time in the server's process
(the database thread's 0.95 ms per message at 200 messages/s, much of it handing the
interpreter lock back and forth with the event loop around every call into the driver),
time in which no socket was served. Here a second process, on the machine's other core,
stores them; the server's side of a message is pickling the request and reading the
answer on its event loop, no thread involved. What that buys is capacity (the rate the
server keeps up with went from 1,129 to at least 1,600 messages/s in docs/chat.md's
benchmark), not a faster single message: one more hop costs a few tenths of a
millisecond.

- **Same work, same guarantees.** The store process runs ``services.message_post`` with
  the server's settings and database; what waits there when it turns to the next request
  is stored in ONE transaction (``hub.run_together``, as the database thread's group
  commit). It answers after the commit; the server then publishes the events the
  commit produced (``hub.capture`` keeps them from being published there) and answers the
  socket: persist, then publish.
- **Nothing lost when it dies.** A store process that dies or stops answering is replaced
  and every request it had not answered is sent again: the client's message id makes a
  second store of the same message impossible, and a message stored just before the
  crash is published again on its way back (each socket drops what it has already
  delivered, by sequence number).
- **Never worse than before.** When no store process can start, the messages are stored
  by the database thread as they were (and a new start is tried a little later).

    python -m uketome.chat.store FD   (started by ``Store``, not by hand)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import itertools
import logging
import os
import pickle
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from uketome.core import processes

logger = logging.getLogger(__name__)

#: How long a store process may take to start, and to answer the oldest request.
START_SECONDS = 60.0
ANSWER_SECONDS = 20.0
#: After a failed start, messages are stored in the server's own process this long.
RETRY_SECONDS = 30.0
#: The most requests stored in one transaction.
MAX_TOGETHER = 64

_HEADER = struct.Struct("!i")  # multiprocessing.connection's frame: the length, then pickle


_store: Store | None = None


def use(store: Store | None) -> None:
    """Store this process's chat messages through ``store`` (None: by the database
    thread). The server processes do (``uketome.asgi``)."""
    global _store
    _store = store


async def message_post(**kwargs: Any) -> Any:
    """``services.message_post`` for the chat's sockets: in the store process when this
    process has one, else on the database thread (with the messages queued next to it)."""
    if _store is not None and _store.usable():
        return await _store.message_post(**kwargs)
    from uketome.chat import services
    from uketome.chat.hub import db

    return await db(services.message_post, together=True)(**kwargs)


class StoreFailed(Exception):
    """The store process failed to store a message (the error it reported)."""


@dataclass
class _Request:
    payload: dict[str, Any]
    future: asyncio.Future[Any]
    sent_at: float = 0.0
    resent: bool = False


@dataclass
class Store:
    """``message_post`` in a store process (see the module). Used from one event loop."""

    command: list[str] = field(default_factory=lambda: [sys.executable, "-m", "uketome.chat.store"])
    process: subprocess.Popen[bytes] | None = None
    ready: socket.socket | None = None  # started, not yet handed to the loop
    transport: asyncio.Transport | None = None
    pending: dict[int, _Request] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=itertools.count)
    restarting: asyncio.Future[None] | None = None
    watchdog: asyncio.TimerHandle | None = None
    broken_until: float = 0.0
    outgoing: bytearray = field(default_factory=bytearray)

    # --- starting -----------------------------------------------------------------------
    def start(self) -> None:
        """Start the store process and wait until it is ready (blocking: at the server's
        start, or on a thread). Raises ``StoreFailed`` if it does not start."""
        try:
            process, ours = processes.start(self.command)
        except OSError as error:
            raise StoreFailed(f"the store process could not start: {error}") from error
        try:
            ours.settimeout(START_SECONDS)
            _write_frame(ours, _database())
            if _read_frame(ours) != "ready":
                raise StoreFailed("the store process did not say it was ready")
            ours.settimeout(None)
        except (OSError, EOFError, pickle.UnpicklingError, StoreFailed) as error:
            ours.close()
            processes.end(process)
            raise StoreFailed(f"the store process did not start: {error}") from error
        self.process, self.ready = process, ours

    def pid(self) -> int | None:
        """The store process's id while it runs."""
        process = self.process
        return process.pid if process is not None and process.poll() is None else None

    # --- storing ------------------------------------------------------------------------
    async def message_post(
        self,
        *,
        conversation_id: int,
        sender: str,
        client_id: Any,
        text: Any,
        author: Any = None,
        origin: str = "",
    ) -> Any:
        """As ``services.message_post`` (same arguments, same ``Posted``, same errors); call
        it when ``usable()``."""
        kwargs = {
            "conversation_id": conversation_id,
            "sender": sender,
            "client_id": client_id,
            "text": text,
            "origin": origin,
        }
        if author is not None:
            kwargs["author"] = (author.pk, author.username, author.first_name, author.last_name)
        request = _Request(kwargs, asyncio.get_running_loop().create_future())
        number = next(self.ids)
        self.pending[number] = request
        if self.transport is not None:
            self._send(number, request)
        return await request.future

    def usable(self) -> bool:
        """Whether requests go to the store process (now, or once it has (re)started)."""
        if self.transport is not None or self.restarting is not None:
            return True
        if self.ready is None and time.monotonic() < self.broken_until:
            return False
        self._connect()
        return True

    def _send(self, number: int, request: _Request) -> None:
        """Queue a request; what is queued in one turn of the loop goes out in ONE write
        (a write wakes the store process: on a virtual machine that costs more than
        the pickling)."""
        if self.transport is None:  # sent once the store process is back
            return
        payload = pickle.dumps((number, request.payload), pickle.HIGHEST_PROTOCOL)
        if not self.outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self.outgoing += _HEADER.pack(len(payload))
        self.outgoing += payload
        request.sent_at = time.monotonic()
        if self.watchdog is None:
            self.watchdog = asyncio.get_running_loop().call_later(ANSWER_SECONDS, self._check)

    def _flush(self) -> None:
        outgoing, self.outgoing = self.outgoing, bytearray()
        if self.transport is not None and outgoing:
            self.transport.write(outgoing)

    def _check(self) -> None:
        """No answer for ``ANSWER_SECONDS``: the process is stuck; replace it."""
        self.watchdog = None
        sent = [r.sent_at for r in self.pending.values() if r.sent_at]
        if not sent or self.transport is None:
            return
        if time.monotonic() - min(sent) >= ANSWER_SECONDS:
            logger.error("chat: the store process has not answered for %.0f s", ANSWER_SECONDS)
            self._lost()
            return
        self.watchdog = asyncio.get_running_loop().call_later(ANSWER_SECONDS, self._check)

    def answered(self, answer: tuple[list[tuple[str, dict[str, Any]]], list[Any]]) -> None:
        """One answer of the store process: the events of its commit, then the outcomes."""
        from uketome.chat.hub import hub

        events, outcomes = answer
        for group, event in events:
            hub.publish(group, event)
        for number, kind, value in outcomes:
            request = self.pending.pop(number, None)
            if request is not None:
                _settle(request, kind, value)

    # --- failures -----------------------------------------------------------------------
    def _lost(self) -> None:
        """The store process died or hangs: replace it, send again what it had not
        answered."""
        transport, self.transport = self.transport, None
        self.outgoing = bytearray()  # sent again below, once a process is back
        if transport is not None:
            transport.abort()
        if self.process is not None:
            processes.end(self.process)
            self.process = None
        for request in self.pending.values():
            request.resent, request.sent_at = True, 0.0
        self._connect()

    def _connect(self) -> None:
        """Start (unless started) and attach the store process, then send what waits."""
        if self.restarting is None:
            from uketome.chat.hub import spawn

            self.restarting = spawn(self._connected())

    async def _connected(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            if self.ready is None:
                await loop.run_in_executor(None, self.start)
                logger.warning("chat: a new store process runs (pid %s)", self.pid())
            sock, self.ready = self.ready, None
            if sock is None:
                raise StoreFailed("the store process was not started")
            sock.setblocking(False)
            await loop.create_unix_connection(lambda: _Answers(self), sock=sock)
        except Exception:
            logger.exception("chat: no store process; messages are stored here for now")
            self.broken_until = time.monotonic() + RETRY_SECONDS
            self.transport = None
            if self.process is not None:
                processes.end(self.process)
                self.process = None
            pending, self.pending = self.pending, {}
            for request in pending.values():
                spawn_here(request)
            return
        finally:
            self.restarting = None
        for number, request in list(self.pending.items()):
            self._send(number, request)

    def close(self) -> None:
        """Stop the store process (it also ends by itself when this process goes)."""
        transport, self.transport = self.transport, None
        if transport is not None:
            with contextlib.suppress(RuntimeError):  # its loop has closed
                transport.abort()
        if self.ready is not None:
            self.ready.close()
            self.ready = None
        if self.process is not None:
            processes.end(self.process)
            self.process = None


class _Answers(asyncio.Protocol):
    """The server's end of the socket pair: frames in, each an answer."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.store.transport = self.transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self.buffer)
            end = _HEADER.size + size
            if len(self.buffer) < end:
                return
            answer = pickle.loads(self.buffer[_HEADER.size : end])  # noqa: S301 (our child)
            del self.buffer[:end]
            try:
                self.store.answered(answer)
            except Exception:
                logger.exception("chat: an answer of the store process could not be used")

    def connection_lost(self, exc: Exception | None) -> None:
        if self.store.transport is self.transport:  # not closed on purpose
            logger.error("chat: the store process has gone (%s)", exc or "end of stream")
            self.store._lost()


def _settle(request: _Request, kind: str, value: Any) -> None:
    from uketome.chat import services
    from uketome.chat.hub import conversation_group, hub
    from uketome.chat.models import Message

    if request.future.done():  # nobody waits for it any more (a socket closed)
        return
    if kind == "ok":
        created, fields, event = value
        if request.resent and not created:  # stored just before a crash: maybe unpublished
            hub.publish(conversation_group(fields["conversation_id"]), event)
        request.future.set_result(services.Posted(Message(**fields), created, event))
    elif kind == "chat":
        request.future.set_exception(services.ChatError(*value))
    else:
        request.future.set_exception(StoreFailed(value))


def spawn_here(request: _Request) -> None:
    """Store a request in this process, by the database thread (no store process)."""
    from uketome.chat.hub import db, spawn

    async def here() -> None:
        try:
            outcome = _outcome(await db(_post, together=True)(request.payload), None)
        except Exception as error:
            outcome = _outcome(None, error)
        _settle(request, *outcome)

    spawn(here())


def _database() -> dict[str, Any]:
    """This process's database settings, for the store process to use the same database
    (the same as its own settings would give in a server; in the tests, the test
    database)."""
    from django.db import connections

    return dict(connections["default"].settings_dict)


def _write_frame(sock: socket.socket, value: Any) -> None:
    payload = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(payload)) + payload)


def _read_frame(sock: socket.socket) -> Any:
    header = _read_exactly(sock, _HEADER.size)
    (size,) = _HEADER.unpack(header)
    return pickle.loads(_read_exactly(sock, size))  # noqa: S301 (our child)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise EOFError("the store process closed its socket")
        chunks += chunk
    return bytes(chunks)


# --- the store process ------------------------------------------------------------------


def serve(connection: Connection) -> None:
    """The store process: requests in, stored together, one answer per group."""
    from django.db import connections

    from uketome.chat.hub import hub

    events: list[tuple[str, dict[str, Any]]] = []
    hub.capture(lambda group, event: events.append((group, event)))
    connections["default"].settings_dict.update(connection.recv())  # the server's database
    connections["default"].ensure_connection()
    gc.collect()
    gc.freeze()  # what is loaded by now lives as long as the process (as in the server)
    connection.send("ready")
    while True:
        try:
            group = [connection.recv()]
            while len(group) < MAX_TOGETHER and connection.poll(0):
                group.append(connection.recv())
        except EOFError:
            return
        events.clear()
        outcomes = store(group)
        connection.send((list(events), outcomes))


def store(group: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, str, Any]]:
    """Store a group of requests (one transaction); each one's outcome:
    ``(number, "ok", (created, fields, event))``, ``(number, "chat", (code, message))``
    or ``(number, "error", text)``."""
    from uketome.chat.hub import run_together

    calls = [functools.partial(_post, payload) for _number, payload in group]
    outcomes: list[tuple[int, str, Any]] = []
    for (number, _payload), (result, error) in zip(group, run_together(calls), strict=True):
        outcomes.append((number, *_outcome(result, error)))
    return outcomes


def _post(payload: dict[str, Any]) -> tuple[bool, dict[str, Any], dict[str, Any]]:
    from uketome.accounts.models import User
    from uketome.chat import services

    payload = dict(payload)
    author = payload.pop("author", None)
    if author is not None:
        pk, username, first_name, last_name = author
        author = User(pk=pk, username=username, first_name=first_name, last_name=last_name)
    posted = services.message_post(author=author, **payload)
    message = posted.message
    fields = {
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "client_id": message.client_id,
        "sender": message.sender,
        "author_id": message.author_id,
        "text": message.text,
        "risk_rank": message.risk_rank,
        "created_at": message.created_at,
    }
    event = posted.event or services.item_event(
        message, author=services._name(author), origin=payload.get("origin", "")
    )
    return posted.created, fields, event


def _outcome(result: Any, error: BaseException | None) -> tuple[str, Any]:
    from uketome.chat.services import ChatError

    if error is None:
        return "ok", result
    if isinstance(error, ChatError):
        return "chat", (error.code, error.message)
    logger.error("chat: a message could not be stored", exc_info=error)
    return "error", f"{type(error).__name__}: {error}"


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uketome.settings")
    import django

    django.setup()
    from django.db import connections
    from django.db.backends.signals import connection_created

    from uketome.core import serving

    if connections["default"].vendor == "sqlite":
        # As in the server: no commit checkpoints; the server's thread does.
        connection_created.connect(serving.no_autocheckpoint)
    return processes.serve(argv, serve)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
