"""Demo staff: about 570 volunteers over the sites, and one demo login per role."""

from __future__ import annotations

import base64
import json
import random
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice
from faker import Faker

from uketome.accounts.models import Membership, User
from uketome.accounts.roles import NARRATIVE_ROLES, Role
from uketome.accounts.services import membership_grant
from uketome.network.models import Organization, Site

VOLUNTEER_PREFIX = "v-"

# One login per role: (username, role, site slug or None, organization: "operator",
# "government" or "foster").
DEMO_LOGINS: list[tuple[str, Role, str | None]] = [
    ("listener", Role.LISTENER, "tsu"),
    ("supporter", Role.SUPPORTER, "tsu"),
    ("supervisor", Role.SUPERVISOR, "suzuka"),
    ("coordinator", Role.SITE_COORDINATOR, "tsu"),
    ("secretariat", Role.SECRETARIAT, None),
    ("government", Role.GOVERNMENT_PARTNER, None),
    ("fostercare", Role.FOSTER_CARE_STAFF, None),
    ("sysadmin", Role.SYSTEM_ADMIN, None),
]

# Network-wide staff besides the demo logins (names only, they cannot sign in).
NETWORK_STAFF = {Role.SECRETARIAT: 3, Role.GOVERNMENT_PARTNER: 3, Role.FOSTER_CARE_STAFF: 3}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: Role
    where: str
    totp_secret: str | None


def _logins_file() -> Path:
    return Path(settings.DATA_DIR) / "demo-logins.json"


def _org_for(role: Role) -> Organization:
    if role == Role.GOVERNMENT_PARTNER:
        return Organization.objects.filter(kind="government").order_by("name").first() or (
            Organization.objects.get(is_operator=True)
        )
    return Organization.objects.get(is_operator=True)


def _site_roles(count: int, rng: random.Random) -> list[Role]:
    """Roles for ``count`` volunteers at one site: 1 coordinator, 3 supervisors,
    about one supporter for every seven listeners."""
    supporters = max(2, round(count * 0.12))
    roles = [Role.SITE_COORDINATOR] + [Role.SUPERVISOR] * 3 + [Role.SUPPORTER] * supporters
    roles += [Role.LISTENER] * (count - len(roles))
    rng.shuffle(roles)
    return roles


@transaction.atomic
def load_volunteers(volunteers_per_site: dict[str, int], seed: int = 2005) -> int:
    """Create the synthetic volunteers once; returns how many exist."""
    existing = User.objects.filter(username__startswith=VOLUNTEER_PREFIX).count()
    if existing:
        return existing
    fake = Faker("ja_JP")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    operator = Organization.objects.get(is_operator=True)
    users: list[User] = []
    taken: set[tuple[str, str]] = set()
    plan: list[tuple[int, Role, Site | None, Organization]] = []
    sites = {s.slug: s for s in Site.objects.all()}
    for slug, count in volunteers_per_site.items():
        site = sites[slug]
        for role in _site_roles(count, rng):
            plan.append((len(users), role, site, operator))
            users.append(_fake_user(fake, len(users), taken))
    for role, count in NETWORK_STAFF.items():
        for _ in range(count):
            plan.append((len(users), role, None, _org_for(role)))
            users.append(_fake_user(fake, len(users), taken))
    created = User.objects.bulk_create(users)
    Membership.objects.bulk_create(
        Membership(user=created[i], role=role, site=site, organization=org)
        for i, role, site, org in plan
    )
    return len(created)


def _fake_user(fake: Faker, n: int, taken: set[tuple[str, str]]) -> User:
    """A volunteer with a name no other demo volunteer has (a roster with two 山田 花子
    would confuse)."""
    name = (fake.last_name(), fake.first_name())
    while name in taken:
        name = (fake.last_name(), fake.first_name())
    taken.add(name)
    user = User(username=f"{VOLUNTEER_PREFIX}{n + 1:04d}", last_name=name[0], first_name=name[1])
    user.set_unusable_password()
    return user


def _stored_passwords() -> dict[str, str]:
    path = _logins_file()
    if path.exists():
        return dict(json.loads(path.read_text()))
    return {}


@transaction.atomic
def load_demo_logins() -> list[DemoLogin]:
    """One account per role with a password (and a TOTP device where 2FA applies)."""
    passwords = _stored_passwords()
    fake = Faker("ja_JP")
    fake.seed_instance(1)
    sites = {s.slug: s for s in Site.objects.all()}
    logins = []
    for username, role, slug in DEMO_LOGINS:
        user = User.objects.filter(username=username).first()
        password = passwords.get(username)
        if user is None:
            user = User(username=username, last_name=fake.last_name(), first_name=fake.first_name())
        if user.pk is None or not password or not user.check_password(password):
            password = password or "-".join(secrets.token_hex(3) for _ in range(3))
            user.set_password(password)
            user.save()
        passwords[username] = password
        site = sites[slug] if slug else None
        membership_grant(actor=None, user=user, role=role, organization=_org_for(role), site=site)
        totp_secret = None
        if role in NARRATIVE_ROLES:
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                device = TOTPDevice.objects.create(user=user, name="demo", confirmed=True)
            totp_secret = base64.b32encode(device.bin_key).decode().rstrip("=")
        logins.append(
            DemoLogin(
                username=username,
                password=password,
                role=role,
                where=site.name if site else _org_for(role).name,
                totp_secret=totp_secret,
            )
        )
    path = _logins_file()
    if not path.exists():
        path.touch(mode=0o600)
    path.write_text(json.dumps(passwords, indent=2))
    return logins
