"""``uketome triage``: score messages read one per line on standard input.

Prints one line per message: the level (none / watch / high / urgent), a tab, the
score. ``--explain`` adds a tab and the matched entries. An empty line scores
``none<TAB>0``, so output lines always pair with input lines.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from uketome.triage.scoring import assess


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = (
        "Score messages (one per line on stdin) against the risk lexicon; "
        "print level<TAB>score per line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--explain", action="store_true", help="add the matched lexicon entries"
        )
        parser.add_argument(
            "--load-defaults",
            action="store_true",
            help="first add the shipped lexicon entries that the database lacks",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["load_defaults"]:
            from uketome.triage.services import lexicon_load_defaults

            added = lexicon_load_defaults(actor=None)
            self.stderr.write(f"{added} lexicon entries added.")
        stdin = options.get("stdin") or sys.stdin
        out = self.stdout
        for line in stdin:
            result = assess(line.rstrip("\r\n"))
            row = f"{result.level}\t{result.score}"
            if options["explain"]:
                row += "\t" + " ".join(result.matched)
            out.write(row)
        out.flush()
