from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from uketome.accounts.demo import load_demo_logins, load_volunteers
from uketome.core.audit import audit_record
from uketome.network.demo import load_network


class Command(BaseCommand):
    help = "Load the demo network, volunteers and logins (demo mode only). Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo data loads only with UKETOME_DEBUG=true")
        data = load_network()
        volunteers = load_volunteers({s["slug"]: s["volunteers"] for s in data["sites"]})
        logins = load_demo_logins()
        audit_record(actor=None, action="demo.loaded", data={"volunteers": volunteers})
        self.stdout.write(f"Demo network loaded: {volunteers} staff and volunteers.\n")
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
