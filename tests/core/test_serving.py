"""The housekeeping of a server process (core/serving.py): garbage collections that stay
short while children are connected, SQLite checkpoints off the path of any commit; and
triage ready before its first socket (asgi.py)."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.conftest import process_env
from uketome.core import serving
from uketome.core.serving import FULL_AT_LEAST_SECONDS, Collector


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def collector_state() -> Iterator[None]:
    """What a server process has at start (asgi.py freezes what the imports made); no
    automatic collection during the test (it would free the cycles under study); nothing
    left frozen after it."""
    was_enabled, was_frozen = gc.isenabled(), gc.get_freeze_count()
    gc.disable()
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.collect()
        if was_frozen:
            gc.freeze()
        if was_enabled:
            gc.enable()


def garbage_cycle() -> weakref.ref[Node]:
    """An unreachable cycle; the weak reference dies when the collector frees it."""
    return weakref.ref(Node())


def grow_frozen(collector: Collector) -> list[Any]:
    """Enough new objects to count as growth since the collector's last full collection."""
    before = collector.frozen_after_full
    needed = int(max(before * serving.FULL_GROWTH, before + serving.FULL_MIN_GROWTH)) - before
    return [[] for _ in range(needed + 1000)]


@pytest.mark.usefixtures("collector_state")
def test_while_children_are_connected_survivors_are_frozen_not_walked() -> None:
    collector = Collector()
    dead = garbage_cycle()
    kept = grow_frozen(collector)
    frozen_before = gc.get_freeze_count()
    assert collector.tick(quiet=False) == "freeze"
    assert gc.get_freeze_count() >= frozen_before + len(kept)
    gc.collect()  # an ordinary collection no longer walks them...
    assert dead() is not None  # ...so it cannot pause for them: the cycle waits


@pytest.mark.usefixtures("collector_state")
def test_a_full_collection_frees_frozen_garbage_once_quiet_and_grown() -> None:
    collector = Collector()
    dead = garbage_cycle()
    collector.tick(quiet=False)  # frozen while busy
    assert collector.tick(quiet=True) == "freeze"  # quiet, but too little new to be worth it
    assert dead() is not None
    kept = grow_frozen(collector)
    assert collector.tick(quiet=False) == "freeze"  # grown, but a child is connected
    assert dead() is not None
    assert collector.tick(quiet=True) == "full"
    assert dead() is None
    assert gc.get_freeze_count() >= len(kept)  # the living are frozen again
    assert collector.tick(quiet=True) == "freeze"  # and the growth counts from here


@pytest.mark.usefixtures("collector_state")
def test_a_full_collection_at_least_once_a_day_even_when_never_quiet() -> None:
    now = [1000.0]
    collector = Collector(clock=lambda: now[0])
    dead = garbage_cycle()
    collector.tick(quiet=False)
    now[0] += FULL_AT_LEAST_SECONDS - 1
    assert collector.tick(quiet=False) == "freeze" and dead() is not None
    now[0] += 1
    assert collector.tick(quiet=False) == "full" and dead() is None
    now[0] += 60
    assert collector.tick(quiet=False) == "freeze"


sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="WAL checkpoints are SQLite's; this run uses another database",
)


@pytest.fixture
def probe_table(transactional_db: Any) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE serving_probe (id INTEGER PRIMARY KEY, body TEXT)")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE serving_probe")
            cursor.execute("PRAGMA wal_autocheckpoint=1000")


def write_pages(rows: int) -> None:
    with connection.cursor() as cursor:
        for _ in range(rows):  # one commit each, as chat messages are
            cursor.execute("INSERT INTO serving_probe (body) VALUES (%s)", ["x" * 3000])


@sqlite_only
@pytest.mark.usefixtures("probe_table")
def test_no_commit_of_a_server_process_checkpoints() -> None:
    serving.no_autocheckpoint(sender=None, connection=connection)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == 0
    serving.checkpoint()
    write_pages(serving.CHECKPOINT_LONG_LOG)  # past SQLite's 1,000: no commit copied them back
    busy, pages, done = serving.checkpoint()
    assert (busy, done) == (0, pages) and pages > serving.CHECKPOINT_LONG_LOG
    # A long log is checkpointed again soon, a short one a second later.
    assert serving.checkpoint_pause(pages) == serving.CHECKPOINT_SOON
    write_pages(1)  # the first commit after a complete checkpoint starts the log over
    _busy, pages, _done = serving.checkpoint()
    assert pages < 10 and serving.checkpoint_pause(pages) == serving.CHECKPOINT_SECONDS


@sqlite_only
@pytest.mark.usefixtures("probe_table")
def test_the_background_checkpoint_keeps_the_log_from_growing() -> None:
    serving.no_autocheckpoint(sender=None, connection=connection)
    serving.checkpoint()
    write_pages(200)
    _busy, first, done = serving.checkpoint()
    assert done == first > 0  # everything copied into the database file
    write_pages(200)
    _busy, second, done = serving.checkpoint()
    # The log starts over after a complete checkpoint instead of growing.
    assert done == second and second < first * 1.5


@pytest.mark.parametrize("server_process", [True, False])
def test_a_server_process_has_triage_and_its_chat_store_ready_before_its_first_socket(
    tmp_path: Path, server_process: bool
) -> None:
    """``uketome serve`` loads the ASGI app with its scoring process started, the lexicon
    compiled and the dictionary loaded there (not in the server's own process), and its
    chat store process started; other processes (tests, management commands) do not pay
    for either at import."""
    env = process_env(tmp_path, **({"UKETOME_SERVER_PROCESS": "1"} if server_process else {}))
    code = (
        "import os, uketome.asgi\n"
        "from uketome.core import text\n"
        "from uketome.triage import scoring\n"
        "scorer = scoring._scorer\n"
        "pid = scorer.pid() if scorer is not None else None\n"
        "from uketome.chat import store\n"
        "chat = store._store.pid() if store._store is not None else None\n"
        "print(pid is not None and pid != os.getpid(), scoring._current is not None,"
        " text._dictionary is not None, chat is not None and chat not in (pid, os.getpid()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(server_process), "False", "False", str(server_process)]
    assert "Traceback" not in result.stderr
