"""Writes on staff accounts: creating staff, granting and ending roles, two-factor devices."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from uketome.accounts.models import Membership, User
from uketome.accounts.roles import SITE_ROLES, Role
from uketome.core.audit import audit_record
from uketome.core.permissions import forget_scope
from uketome.network.models import Organization, Site


class MembershipError(ValueError):
    """A membership that cannot be granted as asked."""


@transaction.atomic
def staff_create(
    *,
    actor: Any,
    username: str,
    last_name: str,
    first_name: str,
    email: str = "",
    password: str | None = None,
) -> User:
    """Create a staff account. Without a password the account cannot sign in yet."""
    user = User(username=username, last_name=last_name, first_name=first_name, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    audit_record(actor=actor, action="account.created", target=user)
    return user


@transaction.atomic
def membership_grant(
    *,
    actor: Any,
    user: User,
    role: Role,
    organization: Organization,
    site: Site | None = None,
) -> Membership:
    """Give ``user`` a role in ``organization`` (and at ``site`` for site roles)."""
    if role in SITE_ROLES and site is None:
        raise MembershipError(f"role {role} needs a site")
    if role not in SITE_ROLES:
        site = None
    membership, created = Membership.objects.get_or_create(
        user=user, organization=organization, site=site, role=role, defaults={"active": True}
    )
    if not created and not membership.active:
        membership.active = True
        membership.save(update_fields=["active", "updated_at"])
    audit_record(
        actor=actor,
        action="membership.granted",
        target=membership,
        data={"user": user.pk, "role": str(role), "site": site.pk if site else None},
    )
    forget_scope(user)
    return membership


@transaction.atomic
def membership_end(*, actor: Any, membership: Membership, reason: str = "") -> Membership:
    membership.active = False
    membership.save(update_fields=["active", "updated_at"])
    audit_record(actor=actor, action="membership.ended", target=membership, reason=reason)
    forget_scope(membership.user)
    return membership


def totp_device_for_enrolment(*, user: User) -> TOTPDevice:
    """The unconfirmed TOTP device a user is enrolling (made on first visit)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


@transaction.atomic
def totp_confirm(*, request: Any, user: User, device: TOTPDevice, token: str) -> bool:
    """Confirm an enrolling device with a first code; signs the session in with it."""
    if device.user_id != user.pk or device.confirmed:
        return False
    if not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    audit_record(actor=user, action="account.two_factor_enrolled", target=user)
    otp_login(request, device)
    return True


def totp_verify(*, request: Any, user: User, token: str) -> bool:
    """Check a code against the user's confirmed devices; signs the session in with it."""
    for device in TOTPDevice.objects.devices_for_user(user, confirmed=True):
        if device.verify_token(token):
            otp_login(request, device)
            audit_record(actor=user, action="account.two_factor_verified", target=user)
            return True
    return False


def totp_reset(*, actor: Any, user: User, reason: str) -> None:
    """Remove a user's devices (lost phone); they enrol again at next sign-in."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        audit_record(actor=actor, action="account.two_factor_reset", target=user, reason=reason)
