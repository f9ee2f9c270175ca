"""The staff roles of a helpline network and what follows from each."""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    LISTENER = "listener", _("Listener")
    SUPPORTER = "supporter", _("Supporter")
    SUPERVISOR = "supervisor", _("Supervisor")
    SITE_COORDINATOR = "site_coordinator", _("Site coordinator")
    SECRETARIAT = "secretariat", _("Secretariat")
    GOVERNMENT_PARTNER = "government_partner", _("Government partner")
    FOSTER_CARE_STAFF = "foster_care_staff", _("Foster-care staff")
    SYSTEM_ADMIN = "system_admin", _("System administrator")


# Roles that work at one site (拠点) and so need a site on their membership.
SITE_ROLES = frozenset({Role.LISTENER, Role.SUPPORTER, Role.SUPERVISOR, Role.SITE_COORDINATOR})

# Roles that can read counselling content (narrative records, transcripts, letters) and so
# must sign in with a second factor. Government partners see aggregates only.
NARRATIVE_ROLES = frozenset(
    {
        Role.LISTENER,
        Role.SUPPORTER,
        Role.SUPERVISOR,
        Role.SITE_COORDINATOR,
        Role.SECRETARIAT,
        Role.FOSTER_CARE_STAFF,
        Role.SYSTEM_ADMIN,
    }
)

# What each role does, shown on the staff home.
DUTIES: dict[str, list[Promise]] = {
    Role.LISTENER: [
        _("Answer calls, chats and letters from children at your site."),
        _("Record each contact you take."),
    ],
    Role.SUPPORTER: [
        _("Back the listeners on your shift and join hard contacts."),
        _("Lead the review after the shift."),
    ],
    Role.SUPERVISOR: [
        _("Approve mail replies and Q&A answers."),
        _("Decide escalations (child guidance centre, 110, 119)."),
        _("Watch live chats at your site."),
    ],
    Role.SITE_COORDINATOR: [
        _("Run your site: its volunteers, shifts and training."),
    ],
    Role.SECRETARIAT: [
        _("Run the network: organizations, sites, lines and portal content."),
        _("Prepare the annual report and exports."),
    ],
    Role.GOVERNMENT_PARTNER: [
        _("See aggregate statistics (never individual records)."),
        _("Co-edit the annual report."),
    ],
    Role.FOSTER_CARE_STAFF: [
        _("Answer the foster-parent line and support foster families."),
    ],
    Role.SYSTEM_ADMIN: [
        _("Keep the service running: accounts, keys, backups."),
    ],
}
