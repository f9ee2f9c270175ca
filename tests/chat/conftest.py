"""Fixtures for live chat: an open chat line, starting a chat the child's way, sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import time
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from uketome.asgi import application
from uketome.helpline.models import Line, OpeningHours

ORIGIN = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


@pytest.fixture(autouse=True)
def _no_background_sweep(settings: Any) -> None:
    # The timers run only when a test calls services.sweep (a controllable clock).
    settings.CHAT_SWEEP_SECONDS = 3600


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    from django.core.cache import cache

    cache.clear()  # the start limit counts per address; every test is a new visitor


@pytest.fixture
def chat_line(db: Any) -> Line:
    """A chat line open around the clock (each day 00:00 to the next 00:00)."""
    line = Line.objects.create(
        name="オンライン相談(チャット)",
        slug="chat",
        channels=["chat"],
        identity_policy="anonymous",
        sort_order=3,
    )
    OpeningHours.objects.bulk_create(
        OpeningHours(line=line, weekday=day, opens=time(0, 0), closes=time(0, 0))
        for day in range(7)
    )
    return line


@pytest.fixture
def start_chat(chat_line: Line) -> Callable[..., tuple[int, str]]:
    """start_chat(**pre_chat) -> (conversation id, token), through POST /chat/start/."""

    def start(**fields: Any) -> tuple[int, str]:
        client = Client()
        response = client.post("/chat/start/", fields, HTTP_ORIGIN="http://testserver")
        assert response.status_code == 201, response.content
        assert not response.cookies
        data = response.json()
        return data["conversation"], data["token"]

    return start


def cookie_headers(client: Client) -> list[tuple[bytes, bytes]]:
    cookie = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    return [(b"cookie", cookie.encode()), *ORIGIN]


async def child_socket(
    conversation: int, token: str, last_seq: int = 0
) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    socket = WebsocketCommunicator(application, "/ws/chat/", headers=ORIGIN)
    connected, _ = await socket.connect()
    assert connected
    await socket.send_json_to(
        {"type": "hello", "conversation": conversation, "token": token, "last_seq": last_seq}
    )
    welcome = await socket.receive_json_from(timeout=5)
    assert welcome["type"] == "welcome", welcome
    return socket, welcome


async def staff_socket(
    client: Client, last_seq: dict[str, int] | None = None, own: list[int] | None = None
) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    """A console's socket; ``last_seq`` and ``own`` as a console that comes back sends them."""
    socket = WebsocketCommunicator(application, "/ws/staff/chat/", headers=cookie_headers(client))
    connected, _ = await socket.connect()
    assert connected
    await socket.send_json_to({"type": "hello", "last_seq": last_seq or {}, "own": own or []})
    welcome = await socket.receive_json_from(timeout=5)
    assert welcome["type"] == "welcome", welcome
    return socket, welcome


async def frames_until(
    socket: WebsocketCommunicator,
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 5,
) -> list[dict[str, Any]]:
    """Every frame received up to and including the first for which ``done`` is true."""
    frames: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"timed out; got {frames}")
        frame = await socket.receive_json_from(timeout=remaining)
        frames.append(frame)
        if done(frame):
            return frames


async def next_of(socket: WebsocketCommunicator, kind: str, timeout: float = 5) -> dict[str, Any]:
    frames = await frames_until(socket, lambda f: f["type"] == kind, timeout)
    return frames[-1]


async def frames_for(socket: WebsocketCommunicator, seconds: float) -> list[dict[str, Any]]:
    """Whatever arrives within ``seconds`` (a receive that times out would stop the app)."""
    await asyncio.sleep(seconds)
    frames: list[dict[str, Any]] = []
    while not socket.output_queue.empty():
        frames.append(await socket.receive_json_from(timeout=1))
    return frames


def of_type(frames: list[dict[str, Any]], *kinds: str) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] in kinds]
