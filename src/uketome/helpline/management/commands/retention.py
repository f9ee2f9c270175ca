from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from uketome.helpline.services import retention_run


class Command(BaseCommand):
    help = (
        "Remove narrative content (summaries, notes, identification, decision notes) older "
        "than each line's retention period. The statistical record stays. Audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        result = retention_run(actor=None, dry_run=options["dry_run"])
        verb = "would remove" if options["dry_run"] else "removed"
        for line, count in result.removed.items():
            self.stdout.write(f"{line}: {verb} the narrative of {count} contacts")
        self.stdout.write(f"total: {result.total}")
