"""`uketome triage`: messages one per line on stdin, level<TAB>score per line."""

from __future__ import annotations

import io
import subprocess
import sys
from typing import Any

from django.core.management import call_command

from tests.conftest import process_env

MESSAGES = [
    "死にたくなる",
    "しにたくなる",
    "ｼﾆﾀｸﾅﾙ",
    "殴られてる",
    "死ぬほど眠い",
    "",
    "今から死ぬ",
]


def run(lines: list[str], *args: str) -> list[str]:
    out = io.StringIO()
    call_command("triage", *args, stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out)
    return out.getvalue().splitlines()


def test_one_line_per_message_level_tab_score(db: Any) -> None:
    rows = [line.split("\t") for line in run(MESSAGES)]
    assert [row[0] for row in rows] == ["high", "high", "high", "high", "none", "none", "urgent"]
    assert all(len(row) == 2 and row[1].isdigit() for row in rows)
    assert rows[4][1] == "0" and rows[5][1] == "0"
    assert 50 <= int(rows[0][1]) < 75 <= int(rows[6][1])


def test_explain_adds_the_matched_entries(db: Any) -> None:
    (row,) = run(["リスカした"], "--explain")
    level, _score, matched = row.split("\t")
    assert level == "high" and "self_harm:りすか" in matched.split(" ")


def test_the_console_command(tmp_path: Any) -> None:
    """The real `uketome triage`, reading a pipe (no database needed before migrate)."""
    env = process_env(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "uketome", "triage"],
        input="ｼﾆﾀｸﾅﾙ\n死ぬほど眠い\r\nたすけて、ころされる\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["high", "none", "urgent"]
