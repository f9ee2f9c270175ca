from typing import Any

from django.core.management.base import BaseCommand, CommandError

from uketome.core.services import audit_check


class Command(BaseCommand):
    help = "Check the audit log's hash chain; report entries that were changed or removed."

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_check(actor=None)
        for problem in result.problems:
            self.stderr.write(problem)
        if not result.ok:
            raise CommandError(f"audit log tampered with: {len(result.problems)} problems")
        self.stdout.write(f"audit log intact: {result.checked} entries; head {result.head_hash}")
