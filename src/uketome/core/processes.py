"""Processes of its own that a server process starts beside itself: the scoring process
(``triage/worker.py``) and the chat store (``chat/store.py``). Each is this interpreter
running one of our modules, given one end of a socket pair (its file descriptor as the
last argument); it serves until the server's end closes, so it never outlives its server.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Callable
from multiprocessing.connection import Connection


def start(command: list[str]) -> tuple[subprocess.Popen[bytes], socket.socket]:
    """Start ``command`` with the other end of a new socket pair; returns the process and
    this end. Raises ``OSError`` if it cannot be started."""
    ours, theirs = socket.socketpair()
    try:
        process = subprocess.Popen(  # noqa: S603 (this interpreter, our module)
            [*command, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
        )
    except OSError:
        ours.close()
        raise
    finally:
        theirs.close()
    return process, ours


def end(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` (if it still runs) and collect it."""
    if process.poll() is None:
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def serve(argv: list[str], work: Callable[[Connection], None]) -> int:
    """The started process's side: ``work`` on the socket named by ``argv[0]`` until the
    server has gone."""
    connection = Connection(int(argv[0]))
    try:
        work(connection)
    except (BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass  # the server has gone
    finally:
        connection.close()
    return 0
