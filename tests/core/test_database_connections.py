"""Pages served over ASGI give their PostgreSQL connection back at the end of the request.

Django runs each request's synchronous code on a thread of that request's own; a connection
kept open "for reuse" (CONN_MAX_AGE) stayed with the finished thread until the garbage
collector happened to free it: a busy hour could use up the server's connections."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application
from django.db import connection

from tests.conftest import run_async

pytestmark = pytest.mark.django_db(transaction=True)

REQUESTS = 20


def _sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


async def _get(application: Any, path: str) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(10)
    while (await communicator.receive_output(10)).get("more_body"):
        pass
    await communicator.wait(10)  # the request's end (where Django lets go of its connections)
    return int(start["status"])


def test_pages_leave_no_database_connection_behind() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server sessions to count")
    application = get_asgi_application()
    before = _sessions()
    gc.disable()  # what the requests leave behind must not depend on the collector
    try:
        statuses = run_async(lambda: _pages(application))
        after = _sessions()
    finally:
        gc.enable()
    assert statuses == [200] * REQUESTS  # the page read the database every time
    assert after - before <= 1, f"{after - before} connections left open by {REQUESTS} pages"


async def _pages(application: Any) -> list[int]:
    return [await _get(application, "/chat/") for _ in range(REQUESTS)]
