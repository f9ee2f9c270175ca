from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from uketome.accounts.demo import load_demo_logins, load_volunteers
from uketome.chat.demo import load_chat
from uketome.content.demo import load_content
from uketome.core.audit import audit_record
from uketome.helpline.demo import load_lines
from uketome.helpline.demo_contacts import load_contacts
from uketome.mail.demo import load_mail
from uketome.network.demo import load_network
from uketome.qa.demo import load_qa
from uketome.resources.demo import load_resources
from uketome.stats.demo import load_stats


class Command(BaseCommand):
    help = "Load the demo network, volunteers and logins (demo mode only). Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--contacts", type=int, default=20_000, help="synthetic contacts over a year"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo data loads only with UKETOME_DEBUG=true")
        data = load_network()
        volunteers = load_volunteers({s["slug"]: s["volunteers"] for s in data["sites"]})
        logins = load_demo_logins()
        lines = load_lines()
        load_chat()
        load_content()
        load_resources()
        contacts = load_contacts(count=options["contacts"])
        load_mail()
        load_qa()
        load_stats()
        audit_record(
            actor=None,
            action="demo.loaded",
            data={"volunteers": volunteers, "lines": len(lines), "contacts": contacts},
        )
        self.stdout.write(
            f"Demo network loaded: {volunteers} staff and volunteers, {len(lines)} lines, "
            f"{contacts} contacts.\n"
        )
        self.stdout.write("Demo logins (demo mode only):")
        for login in logins:
            self.stdout.write(
                f"  {login.username:<12} {login.password:<20} {login.role.label} / {login.where}"
            )
            if login.totp_secret:
                self.stdout.write(
                    f"  {'':<12} 2FA (TOTP) secret {login.totp_secret}"
                    f" - current code: uketome demo-totp {login.username}"
                )
