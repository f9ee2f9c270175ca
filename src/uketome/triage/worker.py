"""Scoring in a process of its own, for the server processes (``uketome serve``).

Scoring a chat message (the dictionary's tokenizer, the lexicon's patterns) costs a
fraction of a millisecond to a few, and all of it holds the interpreter lock: in the
server's process it is time in which no socket is served and no message stored (at 200
chat messages a second, a fifth of the server's CPU). Here it runs in a second process
on the machine's other core. The server's side of a call is a few dozen microseconds
(the text out, the verdict back, over a socket pair), waiting with the lock released.

The worker does not touch the database: the server sends it the lexicon's entries
(``scoring.current_specs``, which notices the secretariat's edits as before) whenever
their version is not the one the worker last compiled. One worker per server process,
one call at a time; a worker that died or hangs is replaced, and a message that cannot
be scored there is scored in the server's own process: a child's message is always
scored.

    python -m uketome.triage.worker FD   (started by ``Scorer``, not by hand)
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from uketome.core import processes
from uketome.triage import scoring
from uketome.triage.scoring import Assessment

logger = logging.getLogger(__name__)

#: How long a worker may take to start (import, dictionary) and to answer one call.
START_SECONDS = 60.0
CALL_SECONDS = 30.0

_NOT_SENT = object()


class WorkerFailed(Exception):
    """The worker died, hung or answered nonsense."""


class Scorer:
    """``assess`` in a worker process (see the module). Thread safe; calls take turns."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.connection: Connection | None = None
        self.sent_version: Any = _NOT_SENT  # the lexicon the worker has compiled
        self.command = [sys.executable, "-m", "uketome.triage.worker"]

    def __call__(self, text: str) -> Assessment:
        version, specs = scoring.current_specs()
        with self.lock:
            for attempt in (1, 2):
                try:
                    return self._call(text, version, specs)
                except WorkerFailed:
                    logger.exception("triage: the scoring process failed (attempt %d)", attempt)
                    self._stop()
        # Scored here rather than not at all.
        return scoring.assess_with(scoring.current_lexicon(), text)

    def _call(self, text: str, version: Any, specs: list[Any]) -> Assessment:
        connection = self._connection()
        sending = specs if version != self.sent_version else None
        try:
            connection.send((text, version, sending))
            if not connection.poll(CALL_SECONDS):
                raise WorkerFailed(f"no answer within {CALL_SECONDS:.0f} s")
            kind, value = connection.recv()
        except (OSError, EOFError) as error:
            raise WorkerFailed(str(error)) from error
        self.sent_version = version if kind == "ok" else _NOT_SENT
        if kind == "error":
            raise value  # what scoring here would have raised
        if kind != "ok" or not isinstance(value, Assessment):
            raise WorkerFailed(f"unexpected answer {kind!r}")
        return value

    def _connection(self) -> Connection:
        if self.connection is not None and self.process is not None:
            if self.process.poll() is None:
                return self.connection
            self._stop()
        try:
            self.process, ours = processes.start(self.command)
        except OSError as error:
            raise WorkerFailed(f"the scoring process could not start: {error}") from error
        self.connection = Connection(ours.detach())
        self.sent_version = _NOT_SENT
        try:
            if not self.connection.poll(START_SECONDS) or self.connection.recv() != "ready":
                raise WorkerFailed("the scoring process did not start")
        except (OSError, EOFError) as error:
            raise WorkerFailed(str(error)) from error
        return self.connection

    def pid(self) -> int | None:
        """The worker's process id while it runs."""
        process = self.process
        return process.pid if process is not None and process.poll() is None else None

    def _stop(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        if self.process is not None:
            processes.end(self.process)
            self.process = None
        self.sent_version = _NOT_SENT

    def close(self) -> None:
        """Stop the worker (it also ends by itself when this process goes)."""
        with self.lock:
            self._stop()


def serve(connection: Connection) -> None:
    """The worker: one text in, one verdict out, until the server closes the socket."""
    scoring.load_dictionary()  # before "ready"
    connection.send("ready")
    lexicon: scoring.Lexicon | None = None
    compiled: Any = _NOT_SENT
    while True:
        try:
            text, version, specs = connection.recv()
        except EOFError:
            return
        try:
            if specs is not None:
                lexicon, compiled = None, _NOT_SENT
                lexicon, compiled = scoring.Lexicon(specs), version
            if lexicon is None or compiled != version:
                raise WorkerFailed("the lexicon was not sent")
            answer: tuple[str, Any] = ("ok", scoring.assess_with(lexicon, text))
        except Exception as error:  # sent back and raised in the server
            answer = ("error", error)
        connection.send(answer)


def main(argv: list[str]) -> int:
    return processes.serve(argv, serve)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
