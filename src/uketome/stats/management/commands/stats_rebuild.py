from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from uketome.stats.selectors import fiscal_month
from uketome.stats.services import rollup_rebuild


class Command(BaseCommand):
    help = (
        "Recompute the statistics rollup from the contact records: every month, or one "
        "fiscal year (--year 2026), or one month (--month 2026-05). Audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=int, help="one fiscal year (April-March)")
        parser.add_argument("--month", help="one month, YYYY-MM")

    def handle(self, *args: Any, **options: Any) -> None:
        months: list[date] | None = None
        if options.get("year"):
            months = [fiscal_month(options["year"], i) for i in range(1, 13)]
        elif options.get("month"):
            try:
                year, month = (int(p) for p in options["month"].split("-"))
                months = [date(year, month, 1)]
            except ValueError as error:
                raise CommandError("--month: give the month as YYYY-MM, e.g. 2026-05") from error
        rows = rollup_rebuild(actor=None, months=months)
        self.stdout.write(f"stats rollup: {rows} rows written")
