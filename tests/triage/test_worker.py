"""A server process scores children's messages in a process of its own (triage/worker.py)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.triage.test_command import MESSAGES as COMMAND_MESSAGES
from uketome import triage
from uketome.triage import scoring, worker
from uketome.triage.models import LexiconEntry
from uketome.triage.scoring import EntrySpec

#: The issue's examples (the command's test), a long calm message and a self-harm one.
MESSAGES = [
    *COMMAND_MESSAGES,
    "きょうは学校で友だちとけんかをしてしまって、どうしたらいいかわからない",
    "リスカしてる",
]


@pytest.fixture
def scorer() -> Iterator[worker.Scorer]:
    found = worker.Scorer()
    triage.use(found)
    yield found
    triage.use(None)
    found.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_worker_gives_the_verdicts_scoring_here_gives(db: Any, scorer: worker.Scorer) -> None:
    here = [scoring.assess_with(scoring.current_lexicon(), text) for text in MESSAGES]
    there = [triage.assess(text) for text in MESSAGES]
    assert there == here
    levels = [a.level for a in there]
    assert levels == ["high", "high", "high", "high", "none", "none", "urgent", "none", "high"]
    # ... and the work was done in another process, which is still there for the next.
    pid = scorer.pid()
    assert pid is not None and pid != os.getpid()
    assert triage.assess("もう しにたい").alert
    assert scorer.pid() == pid


def test_the_secretariats_edit_reaches_the_worker(db: Any, scorer: worker.Scorer) -> None:
    assert triage.assess("ぴえんこえてぱおん").level == "none"
    entry = LexiconEntry.objects.create(
        term="ぴえんこえてぱおん", kind="substring", category="distress", level="watch", weight=5
    )
    assessment = triage.assess("もう ぴえんこえてぱおん")
    assert assessment.level == "watch" and assessment.categories == ("distress",)
    entry.delete()
    assert triage.assess("もう ぴえんこえてぱおん").level == "none"


def test_a_worker_that_died_is_replaced(db: Any, scorer: worker.Scorer) -> None:
    assert triage.assess("しにたい").level == "high"
    first = scorer.pid()
    assert first is not None
    os.kill(first, signal.SIGKILL)
    assert triage.assess("しにたい").level == "high"
    second = scorer.pid()
    assert second is not None and second != first


def test_a_message_is_scored_here_when_no_worker_can_start(
    db: Any, scorer: worker.Scorer, caplog: pytest.LogCaptureFixture
) -> None:
    scorer.command = [sys.executable, "-c", "import sys; sys.exit(3)"]
    with caplog.at_level(logging.ERROR, logger="uketome.triage.worker"):
        assert triage.assess("殴られてる").level == "high"
    assert "the scoring process failed (attempt 2)" in caplog.text
    assert scorer.pid() is None


def test_the_worker_compiles_each_new_version_of_the_lexicon_once(
    scorer: worker.Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = EntrySpec(term="(", kind="pattern", category="suicide", level="high")
    source: dict[str, Any] = {
        "version": 1,
        "specs": [broken, EntrySpec(term="しにたい", kind="substring", category="suicide")],
    }
    monkeypatch.setattr(scoring, "_source", (lambda: source["specs"], lambda: source["version"]))
    monkeypatch.setattr(scoring, "RECHECK_SECONDS", 0.0)
    # An entry that cannot compile is left out there as here; the others still count.
    assert triage.assess("しにたい").categories == ("suicide",)
    assert scoring.Lexicon(source["specs"]).errors
    pid = scorer.pid()
    source["specs"] = [EntrySpec(term="きえたい", kind="substring", category="suicide")]
    assert triage.assess("しにたい").level != "none"  # the same version: not sent again
    source["version"] = 2
    assert triage.assess("しにたい").level == "none"
    assert triage.assess("もう きえたい").categories == ("suicide",)
    assert scorer.pid() == pid  # the same worker


def test_the_worker_ends_with_the_server_process() -> None:
    """It holds nothing: when the process that started it is gone, it leaves too."""
    code = (
        "from uketome.triage import worker\n"
        "s = worker.Scorer()\n"
        "print(s('しにたい').level, s.pid(), flush=True)\n"
        "import os; os._exit(0)\n"  # no clean-up: as when the server is killed
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    level, pid = result.stdout.split()
    assert level == "high"
    for _ in range(100):
        if not alive(int(pid)) or _zombie(int(pid)):
            break
        time.sleep(0.05)
    assert not alive(int(pid)) or _zombie(int(pid))


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
