"""/healthz: the database and the channel layer."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from tests.conftest import port_open, process_env


def test_healthy_service_answers_200(db: Any, client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "in-process"}


@pytest.mark.redis
def test_reports_redis_channel_layer(db: Any, client: Client) -> None:
    if not port_open("127.0.0.1", 6379):
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    with override_settings(REDIS_URL="redis://127.0.0.1:6379/0"):
        body = client.get("/healthz").json()
    assert body["channel_layer"] == "ok"


def test_unreachable_redis_is_reported_but_not_fatal(db: Any, client: Client) -> None:
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["channel_layer"] == "down"
    assert response.json()["status"] == "degraded"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_down_database_answers_503(tmp_path: Path) -> None:
    """A real server whose database cannot be reached reports it with 503."""
    port = _free_port()
    env = process_env(
        tmp_path,
        # Nothing listens on port 1: the database is down.
        UKETOME_DATABASE_URL="postgres://uketome@127.0.0.1:1/uketome",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "uketome", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port):
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=20)
        assert caught.value.code == 503
        body = json.loads(caught.value.read())
        assert body["database"] == "down"
        assert body["status"] == "down"
    finally:
        server.terminate()
        server.wait(timeout=10)
