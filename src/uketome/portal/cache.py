"""A per-process cache of public pages, valid until the end of the current minute.

Children's pages are the same for every reader (no cookie, no account); only the address
(path and query, which carries the furigana choice) changes them. A view opts in with
``@public_cache``; the ASGI wrapper ``MinuteCache`` (in asgi.py) then serves the same
bytes until the minute ends, so "open now" is right to the minute and edits show within
one. Requests that carry cookies (staff browsers) and anything but GET/HEAD always go to
Django. Responses that set a cookie or are not 200 are never stored.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

MARKER = b"x-uketome-public-cache"
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def public_cache(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a public view's 200 responses as the same for every reader this minute."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.cookies:
            response.headers[MARKER.decode()] = "minute"
        response.headers["Cache-Control"] = "no-store"
        return response

    return wrapped


@dataclass
class Entry:
    expires: float
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class MinuteCache:
    def __init__(self, app: Any, max_entries: int = 2000) -> None:
        self.app = app
        self.max_entries = max_entries
        self.entries: OrderedDict[tuple[str, bytes], Entry] = OrderedDict()

    @staticmethod
    def _bypass(scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return True
        if scope["path"].startswith(("/staff/", "/static/", "/healthz", "/ws/")):
            return True
        return any(name == b"cookie" for name, _value in scope.get("headers", []))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._bypass(scope):
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope.get("query_string", b""))
        now = time.time()
        entry = self.entries.get(key)
        if entry is not None and entry.expires > now:
            self.entries.move_to_end(key)
            await send(
                {"type": "http.response.start", "status": entry.status, "headers": entry.headers}
            )
            body = b"" if scope["method"] == "HEAD" else entry.body
            await send({"type": "http.response.body", "body": body})
            return
        await self._fill(key, scope, receive, send)

    async def _fill(
        self, key: tuple[str, bytes], scope: Scope, receive: Receive, send: Send
    ) -> None:
        state: dict[str, Any] = {"store": False, "chunks": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _value in headers}
                state["store"] = (
                    message["status"] == 200
                    and MARKER in names
                    and b"set-cookie" not in names
                    and scope["method"] == "GET"
                )
                headers = [(n, v) for n, v in headers if n.lower() != MARKER]
                state["status"], state["headers"] = message["status"], headers
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and state["store"]:
                state["chunks"].append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._put(key, state)
            await send(message)

        await self.app(scope, receive, capture)

    def _put(self, key: tuple[str, bytes], state: dict[str, Any]) -> None:
        expires = (int(time.time() // 60) + 1) * 60
        self.entries[key] = Entry(
            expires, state["status"], state["headers"], b"".join(state["chunks"])
        )
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)
