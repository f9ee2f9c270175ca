"""Two ``uketome serve`` processes sharing one database and Redis: a child on one, the
listener on the other, and they talk (ARCHITECTURE.md, "Real-time conversations").

The servers are real (uvicorn, SQLite in a temporary data directory, ``UKETOME_REDIS_URL``
on a Redis database index nobody else is using); the clients speak docs/chat-protocol.md
over real sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from bench.chat_uketome import (
    LINE_SLUG,
    SESSION_COOKIE,
    http_post,
    prepare_database,
    server_env,
    sign_in,
    start_server,
    wait_ready,
)

from tests.conftest import port_open, run_async

pytestmark = pytest.mark.redis

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
LOCK_KEY = "uketome-tests:chat-multinode"
WAIT = 20.0  # seconds for anything to arrive


def _chat_app_present() -> bool:
    if importlib.util.find_spec("uketome.chat.consumers") is None:
        return False
    from uketome.routing import websocket_urlpatterns
    from uketome.urls import urlpatterns

    sockets = {str(p.pattern) for p in websocket_urlpatterns}
    pages = " ".join(str(getattr(p, "pattern", "")) for p in urlpatterns)
    return "ws/chat/" in sockets and "ws/staff/chat/" in sockets and "chat/" in pages


def _claim_redis_db() -> int | None:
    """A Redis database index that is empty, marked as ours until the end of the module."""
    import redis

    for index in range(15, 0, -1):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=index)
        try:
            if client.dbsize() == 0 and client.set(LOCK_KEY, "1", nx=True, ex=900):
                return index
        finally:
            client.close()
    return None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    child_port: int
    staff_port: int
    cookie: str


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not port_open(REDIS_HOST, REDIS_PORT):
        pytest.skip(f"Redis is not running on {REDIS_HOST}:{REDIS_PORT}")
    if not _chat_app_present():
        pytest.skip("the chat app (uketome.chat with /chat/ and its WebSocket routes) is absent")
    db_index = _claim_redis_db()
    if db_index is None:
        pytest.skip("no empty Redis database index (1-15) to use")
    data_dir: Path = tmp_path_factory.mktemp("chat-multinode")
    env = server_env(data_dir, redis_url=f"redis://{REDIS_HOST}:{REDIS_PORT}/{db_index}")
    servers: list[subprocess.Popen[bytes]] = []
    try:
        data = prepare_database(env, listeners=1, flood=None)
        ports = [_free_port(), _free_port()]
        servers = [start_server(env, port) for port in ports]
        for port, server in zip(ports, servers, strict=True):
            wait_ready(port, server)
        listener = data["listeners"][0]
        cookie = sign_in(f"http://127.0.0.1:{ports[1]}", listener["username"], listener["key"])
        yield Cluster(child_port=ports[0], staff_port=ports[1], cookie=cookie)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        import redis

        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db_index)
        client.flushdb()
        client.close()


@dataclass
class Peer:
    """One socket and every frame it received, read in the background."""

    ws: Any
    frames: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, port: int, path: str, cookie: str | None = None) -> Peer:
        from websockets.asyncio.client import connect

        headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {}
        ws = await connect(
            f"ws://127.0.0.1:{port}{path}",
            origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
            additional_headers=headers,
            open_timeout=WAIT,
        )
        peer = cls(ws)
        peer.reader = asyncio.create_task(peer._read())
        return peer

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                self.frames.append(json.loads(raw))
                self.arrived.set()

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def wait_for(
        self, test: Callable[[list[dict[str, Any]]], bool], what: str
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + WAIT
        while not test(self.frames):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}; got {self.frames}")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)
        return self.frames

    def first(self, kind: str, **match: Any) -> dict[str, Any] | None:
        for frame in self.frames:
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
        return None

    async def close(self) -> None:
        await self.ws.close()
        if self.reader is not None:
            await self.reader


def run(scenario: Callable[[], Any]) -> None:
    """Run a scenario in a loop of its own; it fails (rather than being abandoned by
    run_async's 60 s join) if it takes more than 50 s."""
    run_async(lambda: asyncio.wait_for(scenario(), 50))


def messages(peer: Peer, sender: str) -> list[dict[str, Any]]:
    return [f for f in peer.frames if f.get("type") == "message" and f.get("from") == sender]


def seqs(peer: Peer) -> list[int]:
    return [int(f["seq"]) for f in peer.frames if f.get("type") in {"message", "ack"}]


async def start_chat(cluster: Cluster) -> tuple[int, Peer, Peer]:
    """A child starts a chat on the first process; the listener takes it on the second."""
    status, body = await http_post(
        cluster.child_port, "/chat/start/", [("line", LINE_SLUG)], {"X-Forwarded-For": "10.9.8.7"}
    )
    assert status == 201, body
    started = json.loads(body)
    conversation = int(started["conversation"])
    child = await Peer.connect(cluster.child_port, "/ws/chat/")
    await child.send(type="hello", conversation=conversation, token=started["token"], last_seq=0)
    await child.wait_for(lambda _: child.first("welcome") is not None, "the child's welcome")
    assert child.first("welcome", status="waiting") is not None

    staff = await Peer.connect(cluster.staff_port, "/ws/staff/chat/", cluster.cookie)
    await staff.send(type="hello", last_seq={})
    await staff.wait_for(lambda _: staff.first("welcome") is not None, "the listener's welcome")
    await staff.send(type="take_next")
    await staff.wait_for(lambda _: staff.first("assigned") is not None, "the assignment")
    assigned = staff.first("assigned")
    assert assigned is not None
    assert assigned["conversation"]["id"] == conversation
    # The claim happened on the other process: the child hears of it through Redis.
    await child.wait_for(
        lambda _: child.first("status", status="active") is not None, "the child's 'active'"
    )
    return conversation, child, staff


def test_child_and_listener_on_two_processes_talk_both_ways(cluster: Cluster) -> None:
    async def scenario() -> None:
        conversation, child, staff = await start_chat(cluster)
        rounds = 6
        for n in range(rounds):
            await child.send(type="message", id=f"child-{n}", text=f"こども {n}")
            await staff.send(
                type="send", conversation=conversation, id=f"listener-{n}", text=f"うけて {n}"
            )
        await child.wait_for(
            lambda _: (
                len(messages(child, "listener")) >= rounds
                and sum(1 for f in child.frames if f.get("type") == "ack") >= rounds
            ),
            "the listener's messages and the child's acks",
        )
        await staff.wait_for(
            lambda _: (
                len(messages(staff, "child")) >= rounds
                and sum(1 for f in staff.frames if f.get("type") == "ack") >= rounds
            ),
            "the child's messages and the listener's acks",
        )
        await asyncio.sleep(1.0)  # anything doubled would arrive by now

        # Each message exactly once, in the order it was sent, on both processes.
        assert [m["text"] for m in messages(staff, "child")] == [
            f"こども {n}" for n in range(rounds)
        ]
        assert [m["text"] for m in messages(child, "listener")] == [
            f"うけて {n}" for n in range(rounds)
        ]
        assert [m["id"] for m in messages(staff, "child")] == [f"child-{n}" for n in range(rounds)]
        for peer in (child, staff):
            numbers = seqs(peer)
            assert numbers == sorted(set(numbers)), f"seq not strictly increasing: {numbers}"
        # Both processes speak of the same stored items: the seq the child's process
        # acknowledged is the seq the listener's process delivered, and the other way round.
        child_acks = {f["id"]: f["seq"] for f in child.frames if f.get("type") == "ack"}
        staff_acks = {f["id"]: f["seq"] for f in staff.frames if f.get("type") == "ack"}
        assert {m["id"]: m["seq"] for m in messages(staff, "child")} == child_acks
        assert {m["id"]: m["seq"] for m in messages(child, "listener")} == staff_acks

        await child.send(type="end")
        await staff.wait_for(
            lambda _: staff.first("end", conversation=conversation) is not None,
            "the end of the chat on the listener's process",
        )
        await child.close()
        await staff.close()

    run(scenario)


def test_listener_resumes_on_the_other_process_without_loss_or_doubles(
    cluster: Cluster,
) -> None:
    """The listener's socket drops; meanwhile the child writes; the listener comes back on
    the child's process with its last seq and gets exactly what it missed."""

    async def scenario() -> None:
        conversation, child, staff = await start_chat(cluster)
        await child.send(type="message", id="before", text="まえ")
        await staff.wait_for(lambda _: len(messages(staff, "child")) == 1, "the first message")
        last_seq = max(seqs(staff))
        await staff.close()

        for n in range(3):
            await child.send(type="message", id=f"away-{n}", text=f"るす {n}")
        await child.wait_for(
            lambda _: sum(1 for f in child.frames if f.get("type") == "ack") == 4, "the acks"
        )

        back = await Peer.connect(cluster.child_port, "/ws/staff/chat/", cluster.cookie)
        await back.send(type="hello", last_seq={str(conversation): last_seq})
        await back.wait_for(
            lambda _: len(messages(back, "child")) >= 3, "the replay of what was missed"
        )
        await back.send(type="send", conversation=conversation, id="again", text="おかえり")
        await child.wait_for(lambda _: len(messages(child, "listener")) == 1, "the answer")
        await asyncio.sleep(1.0)

        assert [m["text"] for m in messages(back, "child")] == [f"るす {n}" for n in range(3)]
        assert all(int(m["seq"]) > last_seq for m in back.frames if m.get("type") == "message")
        assert [m["text"] for m in messages(child, "listener")] == ["おかえり"]
        await child.send(type="end")
        await child.close()
        await back.close()

    run(scenario)
