from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from uketome.core.services import audit_check


class Command(BaseCommand):
    help = "Check the audit log's hash chain; report entries that were changed or removed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--later", action="store_true", help="queue the check for `uketome worker` instead"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["later"]:
            from uketome.core.tasks import verify_audit_log

            queued = verify_audit_log.enqueue()
            self.stdout.write(f"audit check queued: {queued.id}")
            return
        result = audit_check(actor=None)
        for problem in result.problems:
            self.stderr.write(problem)
        if not result.ok:
            raise CommandError(f"audit log tampered with: {len(result.problems)} problems")
        self.stdout.write(f"audit log intact: {result.checked} entries; head {result.head_hash}")
