"""Permission rules: any rule set holds -> allowed; a rule set holds if all predicates hold.
Selectors show exactly the records that the rules allow one by one."""

from __future__ import annotations

from typing import Any

import pytest

from uketome.accounts.models import Membership, User
from uketome.accounts.roles import Role
from uketome.accounts.selectors import memberships_visible_to
from uketome.core.permissions import Rule, at_own_site, has_role, is_self

ROLE_RULES = {
    # rule: the personas allowed (everyone else is denied)
    "network.view_organization": {
        "listener_tsu",
        "supporter_tsu",
        "supervisor_suzuka",
        "coordinator_tsu",
        "secretariat",
        "government",
        "fostercare",
        "sysadmin",
    },
    "network.change_organization": {"secretariat", "sysadmin"},
    "accounts.view_membership": {"secretariat", "sysadmin", "coordinator_tsu", "supervisor_suzuka"},
    "core.view_auditentry": {"secretariat", "sysadmin"},
    "core.use_admin": {"secretariat", "sysadmin"},
}


@pytest.mark.parametrize("rule", sorted(ROLE_RULES))
def test_each_role_allowed_and_denied(personas: dict[str, User], rule: str) -> None:
    for name, user in personas.items():
        assert user.has_perm(rule) is (name in ROLE_RULES[rule]), f"{rule} for {name}"


def test_people_without_a_role_are_denied_everything(db: Any, network: dict[str, Any]) -> None:
    nobody = User.objects.create_user(username="nobody", password="x" * 20)
    for rule in Rule.registry:
        assert not nobody.has_perm(rule), rule


def test_ended_membership_takes_the_rights_away(personas: dict[str, User]) -> None:
    from uketome.accounts.services import membership_end

    secretariat = personas["secretariat"]
    membership_end(actor=None, membership=secretariat.memberships.get())
    fresh = User.objects.get(pk=secretariat.pk)
    assert not fresh.has_perm("core.view_auditentry")


def test_site_rules_follow_the_site(personas: dict[str, User]) -> None:
    coordinator = personas["coordinator_tsu"]
    at_tsu = personas["listener_tsu"].memberships.get()
    at_suzuka = personas["supervisor_suzuka"].memberships.get()
    assert coordinator.has_perm("accounts.view_membership", at_tsu)
    assert not coordinator.has_perm("accounts.view_membership", at_suzuka)
    assert coordinator.has_perm("accounts.change_membership", at_tsu)
    supervisor = personas["supervisor_suzuka"]
    assert supervisor.has_perm("accounts.view_membership", at_suzuka)
    assert not supervisor.has_perm("accounts.change_membership", at_suzuka)


def test_a_role_at_one_site_gives_nothing_at_another(
    personas: dict[str, User], make_staff: Any, network: dict[str, Any]
) -> None:
    """Supervisor at 鈴鹿 and listener at 津: the supervisor's rights stay at 鈴鹿."""
    from uketome.accounts.services import membership_grant

    both = personas["supervisor_suzuka"]
    membership_grant(
        actor=None,
        user=both,
        role=Role.LISTENER,
        organization=network["operator"],
        site=network["tsu"],
    )
    both = User.objects.get(pk=both.pk)
    at_tsu = personas["listener_tsu"].memberships.get()
    assert not both.has_perm("accounts.view_membership", at_tsu)
    visible_sites = set(memberships_visible_to(both).values_list("site__name", flat=True))
    assert visible_sites == {"鈴鹿"}


def test_selector_matches_the_rule_object_by_object(personas: dict[str, User]) -> None:
    everything = list(Membership.objects.all())
    for name, user in personas.items():
        visible = set(memberships_visible_to(user).values_list("pk", flat=True))
        allowed = {m.pk for m in everything if user.has_perm("accounts.view_membership", m)}
        assert visible == allowed, name


def test_any_rule_set_allows_and_all_predicates_are_needed(personas: dict[str, User]) -> None:
    # [own membership AND a listener] or [a coordinator at the membership's site]
    rule = Rule(
        "test.own_or_coordinated",
        [is_self("user"), has_role(Role.LISTENER)],
        [at_own_site("site", Role.SITE_COORDINATOR)],
    )
    listener = personas["listener_tsu"]
    supporter = personas["supporter_tsu"]
    own = listener.memberships.get()
    supporters_own = supporter.memberships.get()
    assert rule.test(listener, own)  # first set: both predicates hold
    assert not rule.test(supporter, supporters_own)  # own, but not a listener
    assert rule.test(personas["coordinator_tsu"], supporters_own)  # second set
    assert not rule.test(personas["secretariat"], own)  # neither set
    queryset = Membership.objects.all()
    assert set(rule.filter(listener, queryset)) == {own}
    assert set(rule.filter(personas["secretariat"], queryset)) == set()
    Rule.registry.pop("test.own_or_coordinated")


def test_rule_needs_predicates() -> None:
    with pytest.raises(ValueError, match="at least one predicate"):
        Rule("test.empty", [])
