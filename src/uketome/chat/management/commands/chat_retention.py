from typing import Any

from django.core.management.base import BaseCommand

from uketome.chat.services import retention_run


class Command(BaseCommand):
    help = (
        "Remove chat transcripts (every message) of chats that ended more than their line's "
        "retention period ago. The conversation's statistical row stays. Audited. Runs daily "
        "(core/schedule.py, 03:10 Tokyo)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        removed = retention_run(actor=None)
        for line, count in removed.items():
            self.stdout.write(f"{line}: removed the transcripts of {count} chats")
        self.stdout.write(f"total: {sum(removed.values())}")
