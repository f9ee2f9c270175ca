"""``uketome furigana --grade N``: print each line of standard input as HTML with furigana.

One line in, one line out (flushed at once, so it can sit in a pipe): the plain form
``<ruby>BASE<rt>READING</rt></ruby>`` on the runs that need a reading at that grade,
everything else escaped. ``--all`` puts ruby on every kanji (grade 0), ``--none`` on none.
Editor markup ``{漢字|かんじ}`` is honoured. See docs/furigana.md.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from uketome.core.furigana import ruby_html


class Command(BaseCommand):
    help = "Read text line by line on stdin; print each line as HTML with furigana for a grade."
    # call_command("furigana", grade=2, stdin=io.StringIO(...)) reads from that instead.
    stealth_options = ("stdin",)
    requires_system_checks: list[str] = []  # a text filter: no need to check the project

    def add_arguments(self, parser: CommandParser) -> None:
        choice = parser.add_mutually_exclusive_group(required=True)
        choice.add_argument(
            "--grade",
            type=int,
            choices=range(0, 7),
            metavar="N",
            help="school grade 1-6: ruby on kanji taught after it (0: every kanji)",
        )
        choice.add_argument("--all", action="store_true", help="ruby on every kanji")
        choice.add_argument("--none", action="store_true", help="no ruby, just the HTML")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            grade: int | None = 0
        elif options["none"]:
            grade = None
        else:
            grade = options["grade"]
        stdin = options.get("stdin") or sys.stdin
        for line in iter(stdin.readline, ""):
            self.stdout.write(ruby_html(line.rstrip("\r\n"), grade))
            self.stdout.flush()
