from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from uketome.core.keys import rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value with the first key of UKETOME_FIELD_ENCRYPTION_KEYS. "
        "Afterwards the older keys can be removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        result = rotate_all(dry_run=options["dry_run"])
        for label, count in result.rotated.items():
            self.stdout.write(f"{label}: {count} values re-encrypted")
        self.stdout.write(f"total: {result.total}" + (" (dry run)" if options["dry_run"] else ""))
        if result.unreadable:
            raise CommandError(
                f"{len(result.unreadable)} values could not be opened with any key: "
                + ", ".join(result.unreadable[:10])
            )
