"""Children's home page under load: `python -m bench.portal [--seconds 10] [--connections 32]`.

Starts the service the way production runs it (`uketome serve`, uvicorn, several worker
processes, PostgreSQL-free SQLite here), loads the demo lines, then drives `/` from a
keep-alive HTTP/1.1 load generator on loopback (asyncio, in this process). Prints one
JSON line: rps, p50_ms, p99_ms, plus the setup.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UKETOME_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        {
            "UKETOME_DATA_DIR": str(data_dir),
            "UKETOME_SECRET_KEY": "bench-" + "x" * 40,
            "UKETOME_FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "UKETOME_HTTPS": "false",
            "UKETOME_ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
    )
    return env


async def _client(
    port: int, path: str, deadline: float, latencies: list[float], errors: list[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n".encode()
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1]
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != b"200":
                errors.append(status.decode())
    finally:
        writer.close()


async def _drive(port: int, path: str, seconds: float, connections: int) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(
        *(_client(port, path, deadline, latencies, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "requests": len(latencies),
        "errors": len(errors),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="uketome-bench-portal-"))
    env = _env(data_dir)
    uketome = [sys.executable, "-m", "uketome"]
    subprocess.run([*uketome, "migrate", "-v", "0"], env=env, check=True)
    subprocess.run(
        [*uketome, "shell", "-c", "from uketome.helpline.demo import load_lines; load_lines()"],
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    server = subprocess.Popen(
        [*uketome, "serve", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    page = r.read()
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        asyncio.run(_drive(port, "/", 2.0, args.connections))  # warm every worker
        figures = asyncio.run(_drive(port, "/", args.seconds, args.connections))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        json.dumps(
            {
                "bench": "portal",
                "path": "/",
                "page_bytes": len(page),
                "workers": args.workers,
                "connections": args.connections,
                "seconds": args.seconds,
                **figures,
            }
        )
    )


if __name__ == "__main__":
    main()
