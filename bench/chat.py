"""Live chat under a helpline-like load, against uketome and against a raw relay.

    python -m bench.chat --conversations 1000 --interval 10 --seconds 60
    python -m bench.chat --conversations 1000 --interval 10 --seconds 60 --kill-server-at 30
    python -m bench.chat --conversations 50 --seconds 10          # a quick run

N conversations; in each, both sides (the child and the listener) send one message every
``--interval`` seconds at a random phase (2 N / interval messages/s). Every message carries
its id and the wall-clock time it was sent, so the other side measures the delivery latency
and counts what arrived: ``sent``, ``delivered`` (distinct ids the other side received),
``lost`` (sent, never received: after sending stops the generator waits as long as late
messages keep arriving, until none has come for ``--drain`` seconds) and ``duplicated``
(receipts of an id beyond the first). Messages must also arrive in the order each side
sent them (``out_of_order``; for uketome also the per-connection ``seq`` order).

Two servers, the same load, one after the other:

- the baseline: a minimal raw ``websockets`` relay (``python -m bench.chat relay``) that pairs
  the child's and the listener's socket of a conversation and relays text frames; nothing
  persisted, nothing checked. The floor on this machine.
- uketome: ``uketome serve`` (uvicorn, one process, SQLite in a fresh data directory,
  persistence on), the real chat protocol (``bench/chat_uketome.py``, after
  docs/chat-protocol.md): children start chats, listeners signed in with password and TOTP
  take them, then both sides talk. With ``--kill-server-at S`` the server process is killed
  (SIGKILL) S seconds into the run and started again; clients reconnect, resume from the last
  sequence number they saw and resend what was not acknowledged under the same client id.

``max_rate``: after the main phase, on the same open conversations, the interval is halved
step by step (``--step-seconds`` each, after the server has worked off any backlog) while
p99 stays under 100 ms with nothing lost, doubled or out of order, then one step between the
last pass and the first failure; the figure is the highest delivered messages/s of a passing
step (``baseline_max_rate`` the same for the relay). When the main load already fails, the
interval is doubled instead. ``max_rate_limited_by`` says what the failing step ran into:
"server", "generator" (it could not keep its schedule: the figure is the generator's), or
"steps" (none failed within ``--max-steps``: a lower bound).

For uketome the bench line allows more than the default 10 messages per 10 s per side (so
that the faster steps measure the server, not the flood limit) and warns of inactivity only
after 50 minutes (the bench pauses between phases). ``rss_mb`` is the server's peak RSS
(VmHWM, with its children) during the chat load: it is reset after the listeners have
signed in, whose argon2 checks take ~100 MB each for a moment (``rss_signin_peak_mb``).

The load generator runs in ``--generators`` separate processes (default 1; conversations are
split between them; both sides of a conversation stay in one process). On this 2-core machine
the server (one process) and the generator (one process) each get about one core; nothing is
pinned unless ``--pin`` (server on CPU 0, generators on the others). What the generator costs
is measured and printed: ``generator_cpu_pct`` (percent of one core, during the measured
window) and ``send_lag_p99_ms`` (how late the generator sent against its schedule; when it is
large the generator, not the server, is the bottleneck). Progress goes to stderr; stdout is
ONE JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
P99_TARGET_MS = 100.0
DRAIN_CAP_S = 600.0
# About 100 characters of Japanese, like BASELINES.md's messages.
PADDING = (
    "きょうは学校で友だちとけんかをしてしまって、どうしたらいいかわからなくて相談したいです。"
    "先生にも親にも言えなくて、ずっともやもやしています。話を聞いてもらえますか。"
)


def log(message: str) -> None:
    print(f"[bench.chat] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_port(port: int, process: subprocess.Popen[Any] | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f}s")
        time.sleep(0.05)


def percentile(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not ordered:
        return None
    return round(ordered[max(0, math.ceil(p * len(ordered)) - 1)], 2)


# --- Reading a process tree from /proc -----------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (children listed by /proc/<pid>/task/*/children)."""
    found = [pid]
    index = 0
    while index < len(found):
        current = found[index]
        index += 1
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its descendants, summed, in MB."""
    total_kb = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kb += int(line.split()[1])
    return round(total_kb / 1024, 1)


def reset_peak_rss(pid: int) -> bool:
    """Restart VmHWM from the current RSS (``5`` to clear_refs), for the process tree."""
    done = True
    for member in process_tree(pid):
        try:
            Path(f"/proc/{member}/clear_refs").write_text("5")
        except OSError:
            done = False
    return done


def rss_parts_mb(pid: int) -> dict[str, float]:
    """Resident memory now, split into anonymous (the heap) and file-backed (mapped files
    such as shared libraries and dictionaries), summed over the process tree, in MB."""
    parts = {"RssAnon:": 0, "RssFile:": 0}
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                key = line.split(" ", 1)[0].split("\t", 1)[0]
                if key in parts:
                    parts[key] += int(line.split()[1])
    return {"anon": round(parts["RssAnon:"] / 1024, 1), "file": round(parts["RssFile:"] / 1024, 1)}


def runqueue_wait_seconds(pid: int) -> float:
    """Time the process tree's threads spent runnable but waiting for a CPU (schedstat):
    how much other work on the machine held the server back."""
    total = 0
    for member in process_tree(pid):
        for task in Path(f"/proc/{member}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


# --- The load generator (runs in its own process) ------------------------------------------


@dataclass
class Stats:
    """What one generator process saw."""

    sent: dict[str, int] = field(default_factory=dict)  # id -> send time (ns)
    received: dict[str, int] = field(default_factory=dict)  # id -> receipts
    latencies_ms: list[float] = field(default_factory=list)
    send_lag_ms: list[float] = field(default_factory=list)
    reconnects: int = 0
    reordered: int = 0  # a sender's message arrived after one it sent later
    last_n: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def reset(self) -> None:
        """A new phase: forget what the last one counted."""
        self.sent.clear()
        self.received.clear()
        self.latencies_ms.clear()
        self.send_lag_ms.clear()
        self.last_n.clear()
        self.reconnects = self.reordered = 0
        self.errors.clear()

    def error(self, text: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(text)

    def got(self, msg_id: str, sent_ns: int) -> None:
        now = time.time_ns()
        seen = self.received.get(msg_id, 0)
        self.received[msg_id] = seen + 1
        if seen == 0:
            self.latencies_ms.append((now - sent_ns) / 1e6)
            sender, _, n = msg_id.rpartition("_")
            if int(n) < self.last_n.get(sender, -1):
                self.reordered += 1
                self.error(f"{msg_id} arrived after #{self.last_n[sender]} of the same sender")
            else:
                self.last_n[sender] = int(n)

    def pending(self) -> int:
        return sum(1 for msg_id in self.sent if msg_id not in self.received)


def encode_body(msg_id: str, sent_ns: int) -> str:
    return f"{msg_id} {sent_ns} {PADDING}"


def decode_body(text: str) -> tuple[str, int] | None:
    parts = text.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


class Side(Protocol):
    """One participant of a conversation (the child or the listener), as the load sees it."""

    async def send(self, msg_id: str, text: str) -> None:
        """Send one message; uketome's clients keep it until acknowledged."""


OnMessage = Callable[[str], None]


class RawSide:
    """A plain WebSocket to the relay: text frames out, text frames in."""

    def __init__(self, spec: dict[str, Any], on_text: OnMessage, stats: Stats) -> None:
        self.url = spec["url"]
        self.on_text = on_text
        self.stats = stats
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(
            self.url, compression=None, open_timeout=30, max_queue=None, ping_interval=None
        )
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for frame in self.ws:
                self.on_text(frame if isinstance(frame, str) else frame.decode())

    async def send(self, msg_id: str, text: str) -> None:
        try:
            await self.ws.send(text)
        except Exception as exc:  # counted as lost; the relay has no resume
            self.stats.error(f"send {msg_id}: {exc!r}")

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()


async def _gather_limited(factories: list[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(factory: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await factory()

    return await asyncio.gather(*(one(f) for f in factories))


async def _read_stdin_line() -> str:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, sys.stdin.readline)


async def generate(plan: dict[str, Any]) -> None:
    """Open every conversation and say "ready"; then, for each ``go INTERVAL SECONDS DRAIN``
    line on stdin, run one phase on the same conversations and print its figures as one
    JSON line; ``stop`` ends the conversations and the process."""
    stats = Stats()
    protocol = plan["protocol"]
    rng = random.Random(plan.get("seed", 0))

    def on_text(text: str) -> None:
        decoded = decode_body(text)
        if decoded is None:
            stats.error(f"unexpected text {text[:40]!r}")
            return
        stats.got(*decoded)

    opened = time.perf_counter()
    context: Any = None
    pairs: list[tuple[str, Side, Side]]
    raw_sides: list[RawSide] = []
    if protocol == "raw":
        pairs = []
        for c in plan["conversations"]:
            child = RawSide(c["child"], on_text, stats)
            listener = RawSide(c["listener"], on_text, stats)
            pairs.append((str(c["id"]), child, listener))
            raw_sides += [child, listener]
        await _gather_limited([side.open for side in raw_sides], 100)
    else:
        from bench import chat_uketome

        context = chat_uketome.Context(plan, stats, on_text)
        pairs = await context.open()
    log(f"generator {os.getpid()}: {len(pairs)} conversations open in "
        f"{time.perf_counter() - opened:.1f}s")  # fmt: skip
    print("ready", flush=True)
    phase = 0
    while True:
        command = (await _read_stdin_line()).split()
        if not command or command[0] != "go":
            break
        interval, seconds, drain = (float(x) for x in command[1:4])
        stats.reset()
        if context is not None:
            context.reset()
        result = await run_phase(stats, pairs, rng, phase, interval, seconds, drain)
        if context is not None:
            result.update(context.figures())
        print(json.dumps(result, separators=(",", ":")), flush=True)
        phase += 1
    if context is None:
        await _gather_limited([side.close for side in raw_sides], 200)
    else:
        await context.close()


async def run_phase(
    stats: Stats,
    pairs: list[tuple[str, Side, Side]],
    rng: random.Random,
    phase: int,
    interval: float,
    seconds: float,
    drain: float,
) -> dict[str, Any]:
    """Each side sends every ``interval`` s at a random offset for ``seconds``; then wait
    for what is still on its way while it keeps arriving (``drain`` s without any)."""
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    start_wall = time.time()

    async def speak(conv_id: str, name: str, side: Side) -> None:
        offset = rng.uniform(0, interval)
        n = 0
        while True:
            due = start_wall + offset + n * interval
            if due - start_wall >= seconds:
                return
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            msg_id = f"{conv_id}_{name[0]}{phase}_{n}"
            sent_ns = time.time_ns()
            stats.send_lag_ms.append(max(0.0, (sent_ns / 1e9 - due) * 1000))
            stats.sent[msg_id] = sent_ns
            await side.send(msg_id, encode_body(msg_id, sent_ns))
            n += 1

    await asyncio.gather(
        *(
            speak(conv_id, name, side)
            for conv_id, child, listener in pairs
            for name, side in (("child", child), ("listener", listener))
        )
    )
    sending_s = time.perf_counter() - started
    # Wait for what is late, as long as it keeps arriving: a message counts as lost only
    # when nothing more has arrived for ``drain`` seconds (or after DRAIN_CAP_S in all).
    cap = time.perf_counter() + DRAIN_CAP_S
    progress_at = time.perf_counter()
    arrived = len(stats.received)
    sent_end = time.perf_counter()
    while stats.pending() and time.perf_counter() < cap:
        await asyncio.sleep(0.1)
        if len(stats.received) != arrived:
            arrived = len(stats.received)
            progress_at = time.perf_counter()
        elif time.perf_counter() - progress_at > drain:
            break
    last_delivery_s = max(0.0, progress_at - sent_end)
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    window = time.perf_counter() - started
    cpu = (usage_after.ru_utime - usage_before.ru_utime) + (
        usage_after.ru_stime - usage_before.ru_stime
    )
    duplicated = sum(count - 1 for count in stats.received.values() if count > 1)
    foreign = sum(1 for msg_id in stats.received if msg_id not in stats.sent)
    if foreign:
        stats.error(f"{foreign} received ids not sent in this phase (late from an earlier one)")
    lags = sorted(stats.send_lag_ms)
    return {
        "sent": len(stats.sent),
        "delivered": sum(1 for msg_id in stats.sent if msg_id in stats.received),
        "duplicated": duplicated,
        "latencies_ms": [round(x, 3) for x in stats.latencies_ms],
        "sending_s": round(sending_s, 3),
        "cpu_s": round(cpu, 3),
        "window_s": round(window, 3),
        "send_lag_p99_ms": percentile(lags, 0.99),
        "last_delivery_s": round(last_delivery_s, 2),
        "reconnects": stats.reconnects,
        "reordered": stats.reordered,
        "errors": list(stats.errors),
    }


def generator_main(plan_path: str) -> None:
    plan = json.loads(Path(plan_path).read_text())
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(generate(plan))


# --- The baseline: a raw websockets relay (its own process) --------------------------------


async def relay(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    rooms: dict[str, dict[str, ServerConnection]] = {}

    async def handler(ws: ServerConnection) -> None:
        _, conv, side = ws.request.path.split("/", 2) if ws.request else ("", "", "")
        other = "listener" if side == "child" else "child"
        room = rooms.setdefault(conv, {})
        room[side] = ws
        try:
            async for frame in ws:
                peer = room.get(other)
                if peer is not None:
                    with contextlib.suppress(Exception):
                        await peer.send(frame)
        finally:
            if room.get(side) is ws:
                del room[side]
            if not room:
                rooms.pop(conv, None)

    async with serve(handler, HOST, port, compression=None, max_queue=None, backlog=4096):
        await asyncio.Future()


def relay_main(port: int) -> None:
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(relay(port))


# --- The orchestrator ----------------------------------------------------------------------


@dataclass
class Figures:
    """One run of the load against one server."""

    conversations: int
    interval: float
    sent: int
    delivered: int
    duplicated: int
    latencies_ms: list[float]
    rate: float  # delivered messages/s while sending
    generator_cpu_pct: float
    send_lag_p99_ms: float | None
    server_cpu_pct: float
    server_wait_pct: float
    reconnects: int
    out_of_order: int
    too_fast: int
    ended_early: int
    errors: list[str]

    @property
    def lost(self) -> int:
        return self.sent - self.delivered

    @property
    def p50(self) -> float | None:
        return percentile(sorted(self.latencies_ms), 0.50)

    @property
    def p99(self) -> float | None:
        return percentile(sorted(self.latencies_ms), 0.99)

    def passes(self) -> bool:
        p99 = self.p99
        return (
            p99 is not None
            and p99 < P99_TARGET_MS
            and self.lost == 0
            and self.duplicated == 0
            and self.out_of_order == 0
            and self.ended_early == 0
        )

    def describe(self) -> str:
        return (
            f"interval {self.interval:g}s: sent {self.sent}, delivered {self.delivered}, "
            f"lost {self.lost}, duplicated {self.duplicated}, p50 {self.p50} ms, "
            f"p99 {self.p99} ms, {self.rate:.0f} msg/s, server cpu {self.server_cpu_pct:.0f}% "
            f"(waited for a cpu {self.server_wait_pct:.0f}%), "
            f"generator cpu {self.generator_cpu_pct:.0f}%, send lag p99 {self.send_lag_p99_ms} ms"
            + (f", reconnects {self.reconnects}" if self.reconnects else "")
            + (f", OUT OF ORDER {self.out_of_order}" if self.out_of_order else "")
            + (f", too_fast {self.too_fast}" if self.too_fast else "")
            + (f", ENDED EARLY {self.ended_early}" if self.ended_early else "")
        )


class Server(Protocol):
    """A server under test: started once, driven by generator processes."""

    name: str
    protocol: str

    def start(self) -> None: ...

    def pid(self) -> int: ...

    def conversation_specs(self, count: int, run: int) -> tuple[list[dict[str, Any]], Any]: ...

    def kill_and_restart(self) -> float: ...

    def peak_rss_mb(self) -> float: ...

    def stop(self) -> None: ...


class RelayServer:
    name = "relay"
    protocol = "raw"

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.chat", "relay", "--port", str(self.port)],
            cwd=ROOT,
            preexec_fn=pin_to(0) if self.args.pin else None,
        )
        wait_port(self.port, self.process)

    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def conversation_specs(self, count: int, run: int) -> tuple[list[dict[str, Any]], Any]:
        base = f"ws://{HOST}:{self.port}"
        return [
            {
                "id": f"r{run}c{i}",
                "child": {"url": f"{base}/r{run}c{i}/child"},
                "listener": {"url": f"{base}/r{run}c{i}/listener"},
            }
            for i in range(count)
        ], None

    def kill_and_restart(self) -> float:
        raise RuntimeError("the raw relay keeps nothing; killing it is not measured")

    def peak_rss_mb(self) -> float:
        return peak_rss_mb(self.pid())

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def pin_to_set(cpus: set[int]) -> Callable[[], None]:
    def pin() -> None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, cpus)

    return pin


def pin_to(cpu: int) -> Callable[[], None]:
    return pin_to_set({cpu})


def generator_cpus() -> set[int]:
    cpus = set(os.sched_getaffinity(0))
    return (cpus - {0}) or cpus


class Load:
    """The generator processes and their open conversations, driven phase by phase."""

    def __init__(self, server: Server, args: argparse.Namespace) -> None:
        self.server = server
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="uketome-bench-chat-"))
        self.generators: list[subprocess.Popen[str]] = []
        self.conversations = 0

    def open(self) -> None:
        args = self.args
        specs, extra = self.server.conversation_specs(args.conversations, 0)
        self.conversations = len(specs)
        count = max(1, min(args.generators, len(specs)))
        # Contiguous, even-sized slices: a listener's chats stay in one generator.
        size = -(-len(specs) // count)
        size += size % 2
        for g in range(count):
            plan = {
                "protocol": self.server.protocol,
                "seed": args.seed * 1000 + g,
                "conversations": specs[g * size : (g + 1) * size],
                "server": extra,
            }
            if not plan["conversations"]:
                continue
            plan_path = self.tmp / f"plan-{g}.json"
            plan_path.write_text(json.dumps(plan))
            process = subprocess.Popen(
                [sys.executable, "-m", "bench.chat", "generate", "--plan", str(plan_path)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                preexec_fn=pin_to_set(generator_cpus()) if args.pin else None,
            )
            self.generators.append(process)
            # One generator opens its conversations at a time: a listener's take_next
            # then claims a child of its own generator (the queue holds no other).
            line = self._read(process)
            if line != "ready":
                raise RuntimeError(f"a generator did not get ready (said {line!r})")

    @staticmethod
    def _read(process: subprocess.Popen[str]) -> str:
        assert process.stdout is not None
        return process.stdout.readline().strip()

    def _say(self, text: str) -> None:
        for process in self.generators:
            assert process.stdin is not None
            process.stdin.write(text + "\n")
            process.stdin.flush()

    def phase(self, *, interval: float, seconds: float, kill_at: float | None = None) -> Figures:
        """One phase on the open conversations (with the server killed at ``kill_at``)."""
        server = self.server
        # After a kill, the restarted server first works through every socket's hello and
        # replay at once, a long silence before deliveries resume: be patient then.
        drain = self.args.drain if kill_at is None else max(self.args.drain, 120)
        server_cpu = server_wait = 0.0
        cpu_base = cpu_seconds(server.pid())
        wait_base = runqueue_wait_seconds(server.pid())
        began = time.perf_counter()
        self._say(f"go {interval} {seconds} {drain}")
        if kill_at is not None:
            time.sleep(max(0.0, kill_at - (time.perf_counter() - began)))
            server_cpu += cpu_seconds(server.pid()) - cpu_base
            server_wait += runqueue_wait_seconds(server.pid()) - wait_base
            downtime = server.kill_and_restart()
            cpu_base = wait_base = 0.0  # the new process: all of its time counts
            log(f"{server.name}: killed at {kill_at:g}s, serving again after {downtime:.2f}s")
        results = []
        for process in self.generators:
            line = self._read(process)
            if not line:
                raise RuntimeError(f"a generator died (exit code {process.poll()})")
            results.append(json.loads(line))
        wall = time.perf_counter() - began
        server_cpu += cpu_seconds(server.pid()) - cpu_base
        server_wait += runqueue_wait_seconds(server.pid()) - wait_base
        latencies = [x for r in results for x in r["latencies_ms"]]
        sending = max(r["sending_s"] for r in results)
        lags = [r["send_lag_p99_ms"] for r in results if r["send_lag_p99_ms"] is not None]
        delivered = sum(r["delivered"] for r in results)
        figures = Figures(
            conversations=self.conversations,
            interval=interval,
            sent=sum(r["sent"] for r in results),
            delivered=delivered,
            duplicated=sum(r["duplicated"] for r in results),
            latencies_ms=latencies,
            rate=delivered / sending if sending else 0.0,
            generator_cpu_pct=100 * sum(r["cpu_s"] for r in results) / max(wall, 1e-9),
            send_lag_p99_ms=max(lags) if lags else None,
            server_cpu_pct=100 * server_cpu / max(wall, 1e-9),
            server_wait_pct=100 * server_wait / max(wall, 1e-9),
            reconnects=sum(r["reconnects"] for r in results),
            out_of_order=sum(r.get("out_of_order", 0) + r["reordered"] for r in results),
            too_fast=sum(r.get("too_fast", 0) for r in results),
            ended_early=sum(r.get("ended_early", 0) for r in results),
            errors=[e for r in results for e in r["errors"]][:10],
        )
        log(
            f"{server.name}: {figures.describe()}; the last delivery came "
            f"{max(r['last_delivery_s'] for r in results):.1f}s after sending stopped"
        )
        for error in figures.errors[:5]:
            log(f"  {server.name} error: {error}")
        return figures

    def settle(self, quiet: float = 0.15, longest: float = 120.0) -> None:
        """Wait until the server has worked off what an overloaded phase left queued
        (it uses less than ``quiet`` of a core over a second), at most ``longest`` s."""
        deadline = time.monotonic() + longest
        while time.monotonic() < deadline:
            before = cpu_seconds(self.server.pid())
            time.sleep(1.0)
            if cpu_seconds(self.server.pid()) - before < quiet:
                return
        log(f"{self.server.name}: still busy after {longest:.0f}s; going on")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._say("stop")
        for process in self.generators:
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def limited_by(figures: Figures) -> str:
    """What stopped a failing step: the generator (it could not keep its schedule or used
    a whole core) or the server (p99, losses, doubles)."""
    lag = figures.send_lag_p99_ms or 0.0
    if lag > 50 or figures.generator_cpu_pct > 90:
        return "generator"
    return "server"


def max_rate(load: Load, args: argparse.Namespace, main: Figures) -> tuple[Figures | None, str]:
    """Step the interval down (halving) while p99 < 100 ms with nothing lost, doubled or
    out of order, then try once between the last pass and the first failure. If the main
    load already fails, step up (doubling, while a side still writes within the 240 s
    inactivity warning). The best passing phase, and what limited it: "server" or
    "generator" (judged on the failing phase), or "steps" (--max-steps ran out first: the
    figure is a lower bound)."""
    best = main if main.passes() else None
    interval = args.interval
    failed: float | None = None
    limit = "steps"

    def step(at: float) -> Figures:
        load.settle()
        return load.phase(interval=at, seconds=max(args.step_seconds, at))

    if best is None:  # the main load already fails: step up instead
        limit = limited_by(main)
        for _ in range(args.max_steps):
            if interval * 2 > 100:
                break
            interval *= 2
            figures = step(interval)
            if figures.passes():
                best = figures
                break
        if best is None:
            return None, limit
        failed = best.interval / 2
    else:
        for _ in range(args.max_steps):
            interval /= 2
            figures = step(interval)
            if not figures.passes():
                failed = interval
                limit = limited_by(figures)
                break
            best = figures
    if failed is not None:
        figures = step(math.sqrt(best.interval * failed))
        if figures.passes() and figures.rate > best.rate:
            best = figures
    return best, limit


def measure(server: Server, args: argparse.Namespace, *, kill: bool) -> dict[str, Any]:
    """The main phase (with the kill if asked), then max_rate, on one server."""
    server.start()
    load = Load(server, args)
    try:
        load.open()
        main = load.phase(
            interval=args.interval,
            seconds=args.seconds,
            kill_at=args.kill_server_at if kill else None,
        )
        best, limit = (None, None) if args.no_max_rate else max_rate(load, args, main)
        rss = server.peak_rss_mb()
        rss_now = rss_parts_mb(server.pid())
    finally:
        load.close()
        server.stop()
    extra = getattr(server, "extra_figures", None)
    return {
        "main": main,
        "rss_mb": rss,
        "rss_now": rss_now,
        "max_rate": round(best.rate) if best else (None if args.no_max_rate else 0),
        "max_rate_interval": best.interval if best else None,
        "max_rate_limit": limit,
        "extra": extra() if extra else {},
    }


def orchestrate(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "conversations": args.conversations,
        "interval": args.interval,
        "seconds": args.seconds,
        "offered_rate": round(2 * args.conversations / args.interval, 1),
    }
    if args.kill_server_at is not None:
        result["kill_server_at"] = args.kill_server_at
    load_before = os.getloadavg()[0]
    uketome: dict[str, Any] | None = None
    if args.target in {"both", "uketome"}:
        from bench import chat_uketome

        uketome = measure(chat_uketome.UketomeServer(args), args, kill=True)
        main = uketome["main"]
        result.update(
            {
                "sent": main.sent,
                "delivered": main.delivered,
                "lost": main.lost,
                "duplicated": main.duplicated,
                "p50_ms": main.p50,
                "p99_ms": main.p99,
            }
        )
    baseline: dict[str, Any] | None = None
    if args.target in {"both", "relay"}:
        baseline = measure(RelayServer(args), args, kill=False)
        main = baseline["main"]
        result.update(
            {
                "baseline_p50_ms": main.p50,
                "baseline_p99_ms": main.p99,
                "baseline_sent": main.sent,
                "baseline_lost": main.lost,
                "baseline_duplicated": main.duplicated,
            }
        )
    if uketome is not None:
        result["rss_mb"] = uketome["rss_mb"]
        result["max_rate"] = uketome["max_rate"]
    if baseline is not None:
        result["baseline_max_rate"] = baseline["max_rate"]
    if uketome is not None:
        result["max_rate_limited_by"] = uketome["max_rate_limit"]
        result["rss_now_mb"] = uketome["rss_now"]
        result.update(uketome["extra"])
    if baseline is not None:
        result["baseline_max_rate_limited_by"] = baseline["max_rate_limit"]
        result["baseline_rss_mb"] = baseline["rss_mb"]
    if uketome is not None:
        main = uketome["main"]
        result["server_cpu_pct"] = round(main.server_cpu_pct)
        result["server_cpu_wait_pct"] = round(main.server_wait_pct)
        result["generator_cpu_pct"] = round(main.generator_cpu_pct)
        result["send_lag_p99_ms"] = main.send_lag_p99_ms
        result["reconnects"] = main.reconnects
        result["out_of_order"] = main.out_of_order
    if baseline is not None:
        main = baseline["main"]
        result["baseline_server_cpu_pct"] = round(main.server_cpu_pct)
        result["baseline_server_cpu_wait_pct"] = round(main.server_wait_pct)
        result["baseline_generator_cpu_pct"] = round(main.generator_cpu_pct)
    result["generators"] = args.generators
    result["pinned"] = bool(args.pin)
    # Other work on the machine skews every figure: the 1-minute load, before and after.
    result["loadavg"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return result


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["relay"]:
        parser = argparse.ArgumentParser(prog="python -m bench.chat relay")
        parser.add_argument("--port", type=int, required=True)
        with contextlib.suppress(KeyboardInterrupt):
            relay_main(parser.parse_args(argv[1:]).port)
        return
    if argv[:1] == ["generate"]:
        parser = argparse.ArgumentParser(prog="python -m bench.chat generate")
        parser.add_argument("--plan", required=True)
        generator_main(parser.parse_args(argv[1:]).plan)
        return
    parser = argparse.ArgumentParser(
        prog="python -m bench.chat",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between messages")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the main run")
    parser.add_argument("--kill-server-at", type=float, help="SIGKILL uketome at this second")
    parser.add_argument("--step-seconds", type=float, default=15.0, help="each max_rate step")
    parser.add_argument("--max-steps", type=int, default=8)
    parser.add_argument("--no-max-rate", action="store_true", help="only the main run")
    parser.add_argument(
        "--drain",
        type=float,
        default=10.0,
        help="after sending, wait for late messages until none arrived for this long",
    )
    parser.add_argument("--generators", type=int, default=1, help="load generator processes")
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, generators apart")
    parser.add_argument("--target", choices=["both", "uketome", "relay"], default="both")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.kill_server_at is not None and not 0 < args.kill_server_at < args.seconds:
        parser.error("--kill-server-at must fall inside --seconds")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    result = orchestrate(args)
    print(json.dumps(result, ensure_ascii=False, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
