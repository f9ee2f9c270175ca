"""``uketome pii-check``: the personal-data check on sentences read one per line from
standard input. Prints one line per sentence: ``ok``, or ``flag``, a tab and the kinds
found (comma-separated: name, school, phone, email, address, sns_id)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from uketome.qa.pii import check_line


class Command(BaseCommand):
    help = "Check sentences (one per line on stdin) for personal data: ok or flag<TAB>kinds."

    def handle(self, *args: Any, **options: Any) -> None:
        stdin = getattr(self, "stdin", None) or sys.stdin
        for line in stdin:
            self.stdout.write(check_line(line.rstrip("\r\n")))
            self.stdout.flush()
