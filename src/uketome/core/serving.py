"""What a server process does besides serving, so that no request and no chat message waits
for housekeeping (docs/chat.md, "Costs on the hot path"):

- **SQLite checkpoints in the background.** In WAL mode SQLite copies the log back into the
  database file (with two fsyncs) inside the commit that happens to cross 1,000 pages: one
  chat message in a few hundred waited for it. In a server process no connection does that;
  a thread of its own runs a passive checkpoint every second (more often while the log is
  long), which never blocks a writer.
- **Short garbage collections.** A full collection walks every object the process holds
  (hundreds of thousands with a thousand chats open): a pause of a fifth of a second. Every
  second the survivors are frozen (``gc.freeze``), so the collector only ever walks what
  is younger than a second. Cycles among frozen objects (a closed socket's, say) are freed
  by a full collection, done when the process is quiet (no child connected) and the frozen
  objects have grown by half since the last one, and at least once a day.
- **A 1 ms switch interval.** A background thread running Python (the sweep, a risk
  assessment) keeps the interpreter lock for up to this long while the event loop waits to
  hand a message on; Python's default is 5 ms.

Started by the ASGI application in the processes ``uketome serve`` runs (marked by
``UKETOME_SERVER_PROCESS``), not in tests or management commands.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created

logger = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 1.0
CHECKPOINT_SOON = 0.05  # while the log is longer than...
CHECKPOINT_LONG_LOG = 4000  # ...pages (16 MB)
FREEZE_SECONDS = 1.0
SWITCH_INTERVAL = 0.001
FULL_GROWTH = 1.5  # a full collection once the frozen objects have grown by half...
FULL_MIN_GROWTH = 20_000  # ...and by at least this many
FULL_AT_LEAST_SECONDS = 24 * 3600

_started = False


def start(is_quiet: Callable[[], bool]) -> None:
    """Start the housekeeping of this server process (once). ``is_quiet``: nobody would
    notice a pause of a fraction of a second now."""
    global _started
    if _started:
        return
    _started = True
    sys.setswitchinterval(SWITCH_INTERVAL)
    if connections["default"].vendor == "sqlite":
        connection_created.connect(no_autocheckpoint)
        _daemon("uketome-checkpoint", _checkpoint_forever)
    collector = Collector()
    _daemon("uketome-collector", lambda: collector.forever(is_quiet))


def _daemon(name: str, target: Callable[[], Any]) -> None:
    threading.Thread(target=target, name=name, daemon=True).start()


def no_autocheckpoint(sender: Any, connection: Any, **kwargs: Any) -> None:
    """No commit of this process checkpoints the WAL (``checkpoint`` does, off the path)."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint=0")


def checkpoint() -> tuple[int, int, int]:
    """One passive checkpoint on this thread's connection: copies what it can without
    waiting for readers or writers. Returns SQLite's (busy, log pages, checkpointed)."""
    with connections["default"].cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        busy, pages, done = cursor.fetchone()
    return int(busy), int(pages), int(done)


def checkpoint_pause(pages: int) -> float:
    """Seconds until the next checkpoint. The log starts over only when a checkpoint has
    copied all of it before the next commit; under a steady stream of commits a checkpoint
    a second rarely gets there and the log grew without end (100 MB in a minute at 200
    messages/s). So while it is long, checkpoints come quickly, each copying little."""
    return CHECKPOINT_SECONDS if pages < CHECKPOINT_LONG_LOG else CHECKPOINT_SOON


def _checkpoint_forever() -> None:
    failing = False
    pause = CHECKPOINT_SECONDS
    while True:
        time.sleep(pause)
        try:
            _busy, pages, _done = checkpoint()
        except Exception:
            if not failing:  # once, not every second
                logger.exception("sqlite: checkpoint failed")
            failing = True
            pause = CHECKPOINT_SECONDS
            connections["default"].close()
        else:
            failing = False
            pause = checkpoint_pause(pages)


class Collector:
    """Freezes the survivors every second; a full collection when it costs nobody."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.full_at = clock()
        self.frozen_after_full = gc.get_freeze_count()

    def tick(self, quiet: bool) -> str:
        """Returns what it did: "full" or "freeze". (Counting the frozen objects walks
        all of them, tens of milliseconds: only done when the process is quiet.)"""
        overdue = self.clock() - self.full_at >= FULL_AT_LEAST_SECONDS
        if overdue or (quiet and self._grown()):
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.full_at = self.clock()
            self.frozen_after_full = gc.get_freeze_count()
            return "full"
        gc.freeze()
        return "freeze"

    def _grown(self) -> bool:
        before = self.frozen_after_full
        return gc.get_freeze_count() >= max(before * FULL_GROWTH, before + FULL_MIN_GROWTH)

    def forever(self, is_quiet: Callable[[], bool]) -> None:
        while True:
            time.sleep(FREEZE_SECONDS)
            try:
                self.tick(is_quiet())
            except Exception:  # never let housekeeping kill the thread
                logger.exception("gc: collector tick failed")
