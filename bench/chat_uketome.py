"""uketome's side of ``bench.chat``: the server, its bench data, and the protocol's clients.

- ``UketomeServer`` (orchestrator): a fresh data directory, ``uketome migrate``, the bench
  data (``python -m bench.chat_uketome setup``: a chat line open at any time, one site, the
  listeners with a password and a confirmed TOTP device), ``uketome serve``, then every
  listener signed in the real way over HTTP (login page, then the two-factor page with the
  current TOTP code). It can SIGKILL the server and start it again on the same port.
- ``Context`` (generator process): children start chats (``POST /chat/start/``) and say
  ``hello`` on ``/ws/chat/``; listeners open ``/ws/staff/chat/`` with their session and
  ``take_next`` up to their limit; then the pairs talk. Both kinds of socket keep
  ``last_seq`` and an outbox of unacknowledged items, reconnect by themselves, resume from
  ``last_seq`` and resend the outbox under the same client ids (docs/chat-protocol.md).

Children's addresses: every child posts with its own ``X-Forwarded-For`` (uvicorn trusts
it from 127.0.0.1, as behind the reverse proxy of a real deployment), so the per-address
start limit sees many children rather than one flooding address.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import hmac
import http.cookiejar
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

PASSWORD = "bench chat password that is long enough 42"  # noqa: S105 - a throwaway database
LINE_SLUG = "bench-chat"
SESSION_COOKIE = "uketome_staff"
HOST = "127.0.0.1"
REPLAY_PATIENCE_S = 30.0
#: How long a listener waits for a chat while the 1,000 open (on a slow hour the database
#: thread was more than 60 s behind at this phase, which is not measured).
TAKE_SECONDS = 180.0
ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[bench.chat] {message}", file=sys.stderr, flush=True)


# --- Server side: environment, data, sign-in ------------------------------------------------


def server_env(data_dir: Path, *, redis_url: str | None = None) -> dict[str, str]:
    """The environment of an ``uketome`` process on a throwaway data directory."""
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith("UKETOME_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        {
            "UKETOME_DATA_DIR": str(data_dir),
            "UKETOME_DEBUG": "false",
            "UKETOME_SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
            "UKETOME_FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "UKETOME_HTTPS": "false",
            "UKETOME_ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
    )
    if redis_url:
        env["UKETOME_REDIS_URL"] = redis_url
    return env


def uketome_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "uketome", *args]


def prepare_database(env: dict[str, str], *, listeners: int, flood: int | None) -> dict[str, Any]:
    """Migrate a fresh database and create the bench data; returns the listeners' keys."""
    subprocess.run(uketome_command("migrate", "-v", "0"), env=env, check=True, cwd=ROOT)
    command = [sys.executable, "-m", "bench.chat_uketome", "setup", "--listeners", str(listeners)]
    if flood:
        command += ["--flood", str(flood)]
    done = subprocess.run(command, env=env, check=True, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


def setup_main(argv: list[str]) -> None:
    """(In the server's environment) the bench line, a site and its listeners."""
    parser = argparse.ArgumentParser(prog="python -m bench.chat_uketome setup")
    parser.add_argument("--listeners", type=int, required=True)
    parser.add_argument("--flood", type=int, help="messages allowed per 10 s per side")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uketome.settings")
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from uketome.accounts.models import Membership, User
    from uketome.accounts.roles import Role
    from uketome.chat.models import ChatSettings
    from uketome.helpline.models import Channel, IdentityPolicy, Line
    from uketome.network.models import Organization, OrganizationKind, Site

    with transaction.atomic():
        line = Line.objects.create(
            name="ベンチ用チャット",
            slug=LINE_SLUG,
            channels=[Channel.CHAT],
            always_open=True,
            identity_policy=IdentityPolicy.ANONYMOUS,
            sort_order=0,
        )
        # The bench pauses between its phases (draining, settling) in a way real chats do
        # not; an hour before the inactivity warning keeps its conversations open.
        defaults: dict[str, Any] = {"warn_after_seconds": 3000, "end_after_seconds": 3600}
        if args.flood:
            defaults.update({"flood_messages": args.flood, "flood_seconds": 10})
        chat_settings, _ = ChatSettings.objects.update_or_create(line=line, defaults=defaults)
        operator = Organization.objects.create(
            name="ベンチ運営NPO", kind=OrganizationKind.NPO, is_operator=True
        )
        site = Site.objects.create(name="ベンチ拠点", slug="bench", organization=operator)
        hashed = make_password(PASSWORD)  # one argon2 hash, shared: creating is not measured
        users = User.objects.bulk_create(
            User(
                username=f"bench-listener-{n}", last_name="受付", first_name=f"{n}", password=hashed
            )
            for n in range(1, args.listeners + 1)
        )
        Membership.objects.bulk_create(
            Membership(user=user, organization=operator, site=site, role=Role.LISTENER)
            for user in users
        )
        keys = [secrets.token_hex(20) for _ in users]
        TOTPDevice.objects.bulk_create(
            TOTPDevice(user=user, name="bench", confirmed=True, key=key)
            for user, key in zip(users, keys, strict=True)
        )
    out = {
        "line": line.slug,
        "line_id": line.pk,
        "limit": chat_settings.max_per_listener,
        "flood": [chat_settings.flood_messages, chat_settings.flood_seconds],
        "listeners": [
            {"username": u.username, "key": k, "id": u.pk} for u, k in zip(users, keys, strict=True)
        ],
    }
    print(json.dumps(out), flush=True)


def totp_code(key_hex: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 (what django-otp's TOTPDevice checks with its defaults)."""
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(bytes.fromhex(key_hex), counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def sign_in(base: str, username: str, key_hex: str) -> str:
    """Sign in through the login page and the two-factor page; the session cookie's value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def csrf(url: str) -> tuple[str, str]:
        with opener.open(url, timeout=60) as response:
            page = response.read().decode()
            found = CSRF_INPUT.search(page)
            if not found:
                raise RuntimeError(f"no CSRF token on {response.geturl()}")
            return found.group(1), response.geturl()

    token, _ = csrf(f"{base}/staff/login/")
    form = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    with opener.open(
        f"{base}/staff/login/", urllib.parse.urlencode(form).encode(), timeout=60
    ) as response:
        response.read()
    token, _ = csrf(f"{base}/staff/two-factor/")
    form = {"token": totp_code(key_hex), "csrfmiddlewaretoken": token}
    with opener.open(
        f"{base}/staff/two-factor/", urllib.parse.urlencode(form).encode(), timeout=60
    ) as response:
        response.read()
        if "/two-factor/" in response.geturl():
            raise RuntimeError(f"{username}: the TOTP code was refused")
    for cookie in jar:
        if cookie.name == SESSION_COOKIE and cookie.value:
            return str(cookie.value)
    raise RuntimeError(f"{username}: no session cookie after signing in")


def sign_in_all(base: str, listeners: list[dict[str, Any]], threads: int = 4) -> list[str]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda p: sign_in(base, p["username"], p["key"]), listeners))


def start_server(
    env: dict[str, str],
    port: int,
    preexec: Callable[[], None] | None = None,
    log_path: Path | None = None,
) -> subprocess.Popen[bytes]:
    """``uketome serve`` on ``port``; its log (stderr) appended to ``log_path`` if given."""
    log_file = log_path.open("ab") if log_path else None
    try:
        return subprocess.Popen(
            uketome_command("serve", "--port", str(port)),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            preexec_fn=preexec,
        )
    finally:
        if log_file is not None:
            log_file.close()


def log_summary(log_path: Path) -> tuple[int, list[str]]:
    """How many tracebacks a server log holds, and the distinct exceptions that ended them."""
    if not log_path.exists():
        return 0, []
    lines = log_path.read_text(errors="replace").splitlines()
    count = 0
    ends: dict[str, int] = {}
    in_traceback = False
    for line in lines:
        if line.startswith("Traceback"):
            count += 1
            in_traceback = True
        elif in_traceback and line and not line.startswith((" ", "\t")):
            if not line.startswith(("During handling", "The above exception")):
                ends[line[:120]] = ends.get(line[:120], 0) + 1
                in_traceback = False
    return count, [f"{n} x {text}" for text, n in sorted(ends.items(), key=lambda kv: -kv[1])]


def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Until /healthz answers (the app is loaded, not just the port bound)."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"uketome serve exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=5) as r:
                r.read()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class UketomeServer:
    """``uketome serve`` on a fresh SQLite database (orchestrator side of bench.chat)."""

    name = "uketome"
    protocol = "uketome"

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.data_dir = Path(tempfile.mkdtemp(prefix="uketome-bench-chat-"))
        self.env = server_env(self.data_dir)
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.cookies: list[str] = []
        self.limit = 2
        self.peak_before_kill = 0.0
        self.setup_peak = 0.0
        self.downtime: float | None = None
        self.log_path = self.data_dir / "server.log"
        self.tracebacks = 0

    def _preexec(self) -> Callable[[], None] | None:
        if not self.args.pin:
            return None

        def pin() -> None:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, {0})

        return pin

    def start(self) -> None:
        # The flood limit (10 messages in 10 s per side) would refuse the faster max_rate
        # steps; the bench line allows more so that max_rate measures the server.
        flood = max(10, int(10 / (self.args.interval / 2**self.args.max_steps)) + 1)
        started = time.perf_counter()
        data = prepare_database(self.env, listeners=self._listeners_needed(), flood=flood)
        self.limit = int(data["limit"])
        log(
            f"uketome: migrated, {len(data['listeners'])} listeners (limit {self.limit} chats), "
            f"flood limit {data['flood'][0]}/{data['flood'][1]}s, "
            f"in {time.perf_counter() - started:.1f}s"
        )
        self.process = start_server(self.env, self.port, self._preexec(), self.log_path)
        wait_ready(self.port, self.process)
        started = time.perf_counter()
        self.cookies = sign_in_all(f"http://{HOST}:{self.port}", data["listeners"])
        log(
            f"uketome: {len(self.cookies)} listeners signed in (password + TOTP) in "
            f"{time.perf_counter() - started:.1f}s"
        )
        # Each argon2 check takes ~100 MB for a moment, and the sign-ins ran 4 at a time:
        # the peak so far is the sign-in's. Measure the chat's peak from here on.
        from bench.chat import peak_rss_mb, reset_peak_rss

        self.setup_peak = peak_rss_mb(self.process.pid)
        if not reset_peak_rss(self.process.pid):
            log("uketome: could not reset VmHWM; rss_mb includes the sign-in peak")

    def _listeners_needed(self) -> int:
        # The line's default limit is 2 chats at once; setup reports the real one.
        return -(-self.args.conversations // 2)

    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def conversation_specs(self, count: int, run: int) -> tuple[list[dict[str, Any]], Any]:
        specs = []
        for i in range(count):
            n = run * 100_000 + i + 1
            specs.append(
                {
                    "id": i,
                    "child": {"addr": f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"},
                    "listener": {"cookie": self.cookies[i // self.limit]},
                }
            )
        return specs, {"port": self.port, "line": LINE_SLUG}

    def kill_and_restart(self) -> float:
        assert self.process is not None
        from bench.chat import peak_rss_mb

        self.peak_before_kill = max(self.peak_before_kill, peak_rss_mb(self.process.pid))
        killed = time.perf_counter()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = start_server(self.env, self.port, self._preexec(), self.log_path)
        wait_ready(self.port, self.process)
        self.downtime = time.perf_counter() - killed
        return self.downtime

    def peak_rss_mb(self) -> float:
        from bench.chat import peak_rss_mb

        return max(self.peak_before_kill, peak_rss_mb(self.pid()))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.tracebacks, kinds = log_summary(self.log_path)
        if self.tracebacks:
            log(f"uketome: the server logged {self.tracebacks} tracebacks:")
            for kind in kinds[:8]:
                log(f"  {kind}")
        if os.environ.get("BENCH_KEEP_DATA"):
            log(f"uketome: the server's data directory is kept: {self.data_dir}")
        else:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def extra_figures(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "rss_signin_peak_mb": self.setup_peak,
            "server_tracebacks": self.tracebacks,
        }
        if self.downtime is not None:
            figures["restart_s"] = round(self.downtime, 2)
        return figures


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# --- Client side (in the generator process) ------------------------------------------------


async def http_post(
    port: int, path: str, form: list[tuple[str, str]], headers: dict[str, str]
) -> tuple[int, bytes]:
    """A minimal HTTP/1.1 POST (one connection per request)."""
    body = urllib.parse.urlencode(form).encode()
    reader, writer = await asyncio.open_connection(HOST, port)
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    status_line, _, rest = raw.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), payload


class Socket:
    """A WebSocket that reconnects by itself; subclasses say hello and handle frames."""

    url_path = ""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.ws: Any = None
        self.connected = asyncio.Event()  # the socket is open
        self.ready = asyncio.Event()  # welcomed, replay received, outbox resent
        self.welcome_seen = False
        self.generation = 0
        self.flushing = False
        self.closing = False
        self.task: asyncio.Task[None] | None = None
        self.outbox: dict[str, dict[str, Any]] = {}  # client id -> frame, in order
        self.recent: deque[tuple[Any, ...]] = deque(maxlen=6)  # for error reports

    def headers(self) -> dict[str, str]:
        return {}

    def hello(self) -> dict[str, Any]:
        raise NotImplementedError

    async def handle(self, frame: dict[str, Any]) -> None:
        raise NotImplementedError

    async def _connect(self) -> None:
        from websockets.asyncio.client import connect

        port = self.context.port
        self.ws = await connect(
            f"ws://{HOST}:{port}{self.url_path}",
            origin=f"http://{HOST}:{port}",  # type: ignore[arg-type]
            additional_headers=self.headers(),
            compression=None,
            open_timeout=30,
            max_queue=None,
            ping_interval=None,  # as a browser: it answers the server's pings, sends none
        )
        self.ready.clear()
        self.welcome_seen = False
        self.generation += 1
        await self.ws.send(json.dumps(self.hello()))
        self.connected.set()

    async def start(self) -> None:
        await self._connect()
        self.task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.ready.wait(), 60)

    async def _run(self) -> None:
        stats = self.context.stats
        while True:
            try:
                async for raw in self.ws:
                    await self.handle(json.loads(raw))
            except Exception:  # noqa: S110 - the socket broke (the server was killed)
                pass
            self.connected.clear()
            self.ready.clear()
            if self.closing:
                return
            # Reconnect with a short, growing, jittered delay, for up to two minutes.
            delay = 0.05
            deadline = time.monotonic() + 120
            while not self.closing:
                await asyncio.sleep(delay * (0.5 + random.random()))
                try:
                    await self._connect()
                    stats.reconnects += 1
                    break
                except Exception as exc:
                    if time.monotonic() > deadline:
                        stats.error(f"gave up reconnecting: {exc!r}"[:200])
                        return
                    delay = min(delay * 2, 1.0)
            if self.closing:
                return

    def caught_up(self) -> bool:
        """Whether the replay after ``welcome`` has arrived (up to its ``last_seq``)."""
        raise NotImplementedError

    def welcomed(self) -> None:
        self.welcome_seen = True
        loop = asyncio.get_running_loop()
        # Should the replay never catch up (an overloaded server is slow, so be patient).
        loop.call_later(REPLAY_PATIENCE_S, self._replay_timeout, self.generation)
        self.check_caught_up()

    def check_caught_up(self) -> None:
        if self.welcome_seen and not self.ready.is_set() and self.caught_up():
            self._flush_soon()

    def _replay_timeout(self, generation: int) -> None:
        if generation != self.generation:
            return  # a timer of an earlier connection
        if self.welcome_seen and not self.ready.is_set() and not self.flushing:
            self.context.replay_timeouts += 1
            self.context.stats.error(
                f"{type(self).__name__}: replay not caught up {REPLAY_PATIENCE_S:.0f} s "
                "after welcome; "
                f"recent frames {list(self.recent)}"
            )
            self._flush_soon()

    def _flush_soon(self) -> None:
        if self.welcome_seen and not self.ready.is_set() and not self.flushing:
            self.flushing = True
            asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        """Resend, in order, what was not acknowledged (and did not come back in the
        replay); then let new items go straight out."""
        try:
            done: set[str] = set()
            while self.connected.is_set():
                pending = [k for k in self.outbox if k not in done]
                if not pending:
                    self.ready.set()
                    return
                for client_id in pending:
                    frame = self.outbox.get(client_id)
                    done.add(client_id)
                    if frame is not None:
                        await self.control(frame)
        finally:
            self.flushing = False

    async def control(self, frame: dict[str, Any]) -> None:
        if self.connected.is_set():
            with contextlib.suppress(Exception):
                await self.ws.send(json.dumps(frame))

    async def transmit(self, frame: dict[str, Any]) -> None:
        """An outbox item: out now if the connection is ready, else after the resume."""
        if self.ready.is_set():
            await self.control(frame)

    async def retry_later(self, client_id: str, seconds: float = 1.0) -> None:
        await asyncio.sleep(seconds)
        frame = self.outbox.get(client_id)
        if frame is not None:
            await self.transmit(frame)

    def on_error(self, frame: dict[str, Any]) -> None:
        self.context.stats.error(f"{type(self).__name__} error {frame.get('code')}: "
                                 f"{frame.get('message', '')[:60]}")  # fmt: skip
        client_id = frame.get("id")
        if frame.get("code") == "too_fast" and client_id:
            self.context.too_fast += 1
            asyncio.get_running_loop().create_task(self.retry_later(client_id))

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


class ChildSocket(Socket):
    """The child's page: ``/ws/chat/`` with the conversation's token."""

    url_path = "/ws/chat/"

    def __init__(self, context: Context, conversation: int, token: str) -> None:
        super().__init__(context)
        self.conversation = conversation
        self.token = token
        self.last_seq = 0
        self.active = asyncio.Event()
        self.ended = False
        self.replay_to = 0

    def caught_up(self) -> bool:
        return self.last_seq >= self.replay_to

    def hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "conversation": self.conversation,
            "token": self.token,
            "last_seq": self.last_seq,
        }

    def _seq(self, seq: int, ack_of: str | None = None) -> None:
        if ack_of is not None and ack_of not in self.outbox:
            self.context.late_acks += 1  # an ack repeated for a resent item: harmless
            return
        if seq <= self.last_seq:
            self.context.out_of_order += 1
            self.context.stats.error(
                f"child {self.conversation}: seq {seq} after {self.last_seq}; "
                f"recent frames {list(self.recent)}"
            )
        self.last_seq = max(self.last_seq, seq)
        self.check_caught_up()

    async def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        self.recent.append((kind, frame.get("seq"), frame.get("id")))
        if kind == "welcome":
            if frame.get("status") == "active":
                self.active.set()
            self.replay_to = int(frame.get("last_seq") or 0)
            self.welcomed()
        elif kind == "status" and frame.get("status") == "active":
            self.active.set()
        elif kind == "message":
            self._seq(int(frame["seq"]))
            if frame.get("from") == "listener":
                self.context.on_text(frame.get("text", ""))
            elif frame.get("from") == "child" and frame.get("id"):
                self.outbox.pop(frame["id"], None)
        elif kind == "ack":
            self._seq(int(frame["seq"]), ack_of=str(frame.get("id")))
            self.outbox.pop(frame.get("id", ""), None)
        elif kind == "end":
            self.ended = True
            if not self.closing:
                self.context.ended_early += 1
                self.context.stats.error(
                    f"child {self.conversation}: the server ended the chat during the run "
                    f"({frame.get('reason')}: {frame.get('message', '')[:60]})"
                )
        elif kind == "error":
            self.on_error(frame)

    async def send(self, msg_id: str, text: str) -> None:
        frame = {"type": "message", "id": msg_id, "text": text}
        self.outbox[msg_id] = frame
        await self.transmit(frame)

    async def end(self) -> None:
        if not self.ended:
            await self.control({"type": "end"})
        await self.close()


class StaffSocket(Socket):
    """A listener's console: ``/ws/staff/chat/``, all of the listener's chats on it."""

    url_path = "/ws/staff/chat/"

    def __init__(self, context: Context, cookie: str) -> None:
        super().__init__(context)
        self.cookie = cookie
        self.last_seq: dict[int, int] = {}
        self.replay_to: dict[int, int] = {}
        self.assigned: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.takes = 0
        self.kinds: dict[Any, int] = {}

    def caught_up(self) -> bool:
        return all(self.last_seq.get(c, 0) >= n for c, n in self.replay_to.items())

    def headers(self) -> dict[str, str]:
        return {"Cookie": f"{SESSION_COOKIE}={self.cookie}"}

    def hello(self) -> dict[str, Any]:
        return {"type": "hello", "last_seq": {str(k): v for k, v in self.last_seq.items()}}

    def _seq(self, conversation: int, seq: int, ack_of: str | None = None) -> None:
        if ack_of is not None and ack_of not in self.outbox:
            self.context.late_acks += 1
            return
        last = self.last_seq.get(conversation, 0)
        if seq <= last:
            self.context.out_of_order += 1
            self.context.stats.error(
                f"staff {conversation}: seq {seq} after {last}; recent frames {list(self.recent)}"
            )
        self.last_seq[conversation] = max(last, seq)
        self.check_caught_up()

    async def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        self.recent.append((kind, frame.get("conversation"), frame.get("seq"), frame.get("id")))
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if kind == "welcome":
            self.replay_to = {
                int(c["id"]): int(c.get("last_seq") or 0) for c in frame.get("conversations", [])
            }
            self.welcomed()
            # After a reconnect, the chats already this listener's (a take_next whose
            # answer was lost with the old socket was carried out all the same).
            if self.generation > 1:
                await self.assigned.put({"welcome": list(self.replay_to)})
        elif kind == "assigned":
            summary = frame["conversation"]
            conversation = int(summary["id"])
            self.last_seq.setdefault(conversation, int(summary.get("last_seq") or 0))
            await self.assigned.put(summary)
        elif kind == "message":
            conversation = int(frame["conversation"])
            self._seq(conversation, int(frame["seq"]))
            if frame.get("from") == "child":
                self.context.on_text(frame.get("text", ""))
            elif frame.get("from") == "listener" and frame.get("id"):
                self.outbox.pop(frame["id"], None)
        elif kind == "ack":
            self._seq(int(frame["conversation"]), int(frame["seq"]), ack_of=str(frame.get("id")))
            self.outbox.pop(frame.get("id", ""), None)
        elif kind == "error":
            if str(frame.get("id", "")).startswith("take-"):
                await self.assigned.put({"error": frame})  # queue_empty, or a refusal
            else:
                self.on_error(frame)

    async def take(self, count: int) -> list[int]:
        """take_next until this listener has ``count`` chats (retrying an empty queue). The
        socket may reconnect meanwhile (a slow server's keepalive): its welcome then says
        which chats are the listener's, and the take goes on from there."""
        taken: list[int] = []
        deadline = time.monotonic() + TAKE_SECONDS
        while len(taken) < count:
            left = deadline - time.monotonic()
            try:
                await asyncio.wait_for(self.ready.wait(), max(left, 0.001))
                self.takes += 1
                await self.control({"type": "take_next", "id": f"take-{self.takes}"})
                answer = await asyncio.wait_for(self.assigned.get(), max(left, 0.001))
            except TimeoutError:
                raise RuntimeError(self.take_report(taken, count)) from None
            if "welcome" in answer:
                self.context.takes_after_reconnect += 1
                taken = list(dict.fromkeys([*taken, *answer["welcome"]]))
            elif "error" in answer:
                error = answer["error"]
                if error.get("code") != "queue_empty":
                    raise RuntimeError(
                        f"take_next refused: {error}; {self.take_report(taken, count)}"
                    )
                await asyncio.sleep(0.1)
            elif int(answer["id"]) not in taken:
                taken.append(int(answer["id"]))
        return taken

    def take_report(self, taken: list[int], count: int) -> str:
        return (
            f"a listener had {len(taken)} of {count} chats after {TAKE_SECONDS:.0f} s "
            f"({self.takes} take_next sent; connected {self.connected.is_set()}, "
            f"ready {self.ready.is_set()}, connection #{self.generation}; "
            f"frames by type {self.kinds}; recent {list(self.recent)})"
        )


class ListenerSide:
    """One conversation on a listener's socket (what the generator sends through)."""

    def __init__(self, socket: StaffSocket, conversation: int) -> None:
        self.socket = socket
        self.conversation = conversation

    async def send(self, msg_id: str, text: str) -> None:
        frame = {"type": "send", "conversation": self.conversation, "id": msg_id, "text": text}
        self.socket.outbox[msg_id] = frame
        await self.socket.transmit(frame)

    async def close(self) -> None:
        return None


class Context:
    """All of one generator process's uketome clients."""

    def __init__(self, plan: dict[str, Any], stats: Any, on_text: Callable[[str], None]) -> None:
        self.plan = plan
        self.port = int(plan["server"]["port"])
        self.line = str(plan["server"]["line"])
        self.stats = stats
        self.on_text = on_text
        self.children: list[ChildSocket] = []
        self.staff: list[StaffSocket] = []
        self.out_of_order = 0
        self.too_fast = 0
        self.late_acks = 0
        self.replay_timeouts = 0
        self.ended_early = 0
        self.takes_after_reconnect = 0

    async def _start_child(self, spec: dict[str, Any]) -> ChildSocket:
        for attempt in range(5):
            status, body = await http_post(
                self.port,
                "/chat/start/",
                [("line", self.line)],
                {"X-Forwarded-For": spec["child"]["addr"]},
            )
            if status == 201:
                answer = json.loads(body)
                child = ChildSocket(self, int(answer["conversation"]), str(answer["token"]))
                await child.start()
                return child
            if attempt == 4:
                raise RuntimeError(f"POST /chat/start/ answered {status}: {body[:200]!r}")
            await asyncio.sleep(0.5)
        raise AssertionError("unreachable")

    async def open(self) -> list[tuple[str, Any, Any]]:
        from bench.chat import _gather_limited

        specs = self.plan["conversations"]
        self.children = await _gather_limited(
            [functools.partial(self._start_child, spec) for spec in specs], 50
        )
        by_id = {child.conversation: child for child in self.children}
        wanted: dict[str, int] = {}
        for spec in specs:
            cookie = spec["listener"]["cookie"]
            wanted[cookie] = wanted.get(cookie, 0) + 1
        self.staff = [StaffSocket(self, cookie) for cookie in wanted]
        await _gather_limited([s.start for s in self.staff], 50)
        taken = await asyncio.gather(*(s.take(wanted[s.cookie]) for s in self.staff))
        pairs: list[tuple[str, Any, Any]] = []
        for socket, conversations in zip(self.staff, taken, strict=True):
            for conversation in conversations:
                child = by_id.get(conversation)
                if child is None:
                    raise RuntimeError(f"took conversation {conversation}, not one of ours")
                pairs.append((str(conversation), child, ListenerSide(socket, conversation)))
        await asyncio.gather(*(asyncio.wait_for(c.active.wait(), 60) for c in self.children))
        if self.stats.reconnects:
            log(
                f"uketome: {self.stats.reconnects} sockets reconnected while the chats opened "
                f"({self.takes_after_reconnect} listeners' takes went on after one)"
            )
        return pairs

    async def close(self) -> None:
        from bench.chat import _gather_limited

        await _gather_limited([c.end for c in self.children], 100)
        await _gather_limited([s.close for s in self.staff], 100)
        if self.out_of_order:
            self.stats.error(f"{self.out_of_order} frames out of seq order")

    def reset(self) -> None:
        self.out_of_order = self.too_fast = self.late_acks = 0
        self.replay_timeouts = self.ended_early = 0

    def figures(self) -> dict[str, int]:
        return {
            "out_of_order": self.out_of_order,
            "too_fast": self.too_fast,
            "late_acks": self.late_acks,
            "replay_timeouts": self.replay_timeouts,
            "ended_early": self.ended_early,
        }


if __name__ == "__main__":
    if sys.argv[1:2] == ["setup"]:
        setup_main(sys.argv[2:])
    else:
        raise SystemExit("usage: python -m bench.chat_uketome setup --listeners N [--flood M]")
