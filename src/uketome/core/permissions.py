"""Permission rules: one home for who may do what.

An action is allowed if ANY of its rule sets holds; a rule set holds if ALL of its
predicates hold. Each predicate can both test one object and filter a queryset, so the
selectors (``selectors.py`` in each app) show exactly the records that ``has_perm`` allows.

    view_membership = Rule(
        "accounts.view_membership",
        [is_secretariat],
        [is_system_admin],
        [at_own_site("site", Role.SITE_COORDINATOR, Role.SUPERVISOR)],
    )

Rules are registered with the ``rules`` package, so ``user.has_perm(name, obj)`` and the
admin use them too.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any, TypeVar

import rules
from django.db import models
from django.db.models import Q

from uketome.accounts.roles import Role

M = TypeVar("M", bound=models.Model)

NOTHING = Q(pk__in=[])
EVERYTHING = Q()


@dataclass(frozen=True)
class Scope:
    """Where a user holds each role: role -> site ids (None for network-wide roles)."""

    sites_by_role: dict[str, frozenset[int]]
    roles: frozenset[str]

    def sites_for(self, roles: Iterable[str]) -> frozenset[int]:
        found: set[int] = set()
        for role in roles:
            found |= self.sites_by_role.get(role, frozenset())
        return frozenset(found)


EMPTY_SCOPE = Scope(sites_by_role={}, roles=frozenset())


def scope_of(user: Any) -> Scope:
    """The user's active memberships, read once per user object."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return EMPTY_SCOPE
    cached = getattr(user, "_uketome_scope", None)
    if cached is not None:
        return cached
    from uketome.accounts.models import Membership

    sites: dict[str, set[int]] = {}
    roles: set[str] = set()
    for role, site_id in (
        Membership.objects.active().filter(user=user).values_list("role", "site_id")
    ):
        roles.add(role)
        if site_id is not None:
            sites.setdefault(role, set()).add(site_id)
    scope = Scope(
        sites_by_role={role: frozenset(ids) for role, ids in sites.items()},
        roles=frozenset(roles),
    )
    user._uketome_scope = scope
    return scope


def forget_scope(user: Any) -> None:
    """Drop the cached scope after memberships change."""
    if hasattr(user, "_uketome_scope"):
        del user._uketome_scope


@dataclass(frozen=True)
class Predicate:
    """A condition that tests one object and filters a queryset the same way.

    ``test(user, obj)`` answers for one object; with ``obj=None`` it answers whether the
    user could be allowed on some object (used for menus and list pages).
    ``q(user)`` is the matching filter.
    """

    name: str
    test: Callable[[Any, Any], bool]
    q: Callable[[Any], Q]


def has_role(*roles: Role) -> Predicate:
    """The user holds one of ``roles`` anywhere."""

    def test(user: Any, obj: Any) -> bool:
        return bool(scope_of(user).roles & set(roles))

    def q(user: Any) -> Q:
        return EVERYTHING if test(user, None) else NOTHING

    return Predicate(f"has_role({', '.join(roles)})", test, q)


def _fk_id(obj: Any, field: str) -> Any:
    """The id behind ``field`` (``"site"`` or ``"shift__site"``) on ``obj``."""
    *path, last = field.split("__")
    for part in path:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id", None)


def at_own_site(field: str, *roles: Role) -> Predicate:
    """The object's site (reached by ``field``, e.g. ``"site"``) is one where the user
    holds one of ``roles``."""

    def test(user: Any, obj: Any) -> bool:
        sites = scope_of(user).sites_for(roles)
        if obj is None:
            return bool(sites)
        return _fk_id(obj, field) in sites

    def q(user: Any) -> Q:
        sites = scope_of(user).sites_for(roles)
        return Q(**{f"{field}__in": sorted(sites)}) if sites else NOTHING

    return Predicate(f"at_own_site({field}; {', '.join(roles)})", test, q)


def is_self(field: str) -> Predicate:
    """The object belongs to the user (``field`` leads to the user)."""

    def test(user: Any, obj: Any) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        if obj is None:
            return True
        return bool(_fk_id(obj, field) == user.pk)

    def q(user: Any) -> Q:
        if not getattr(user, "is_authenticated", False):
            return NOTHING
        return Q(**{field: user.pk})

    return Predicate(f"is_self({field})", test, q)


def is_one_of(*fields: str) -> Predicate:
    """The user is the one named by any of ``fields`` (e.g. the contact's listener or
    supporter)."""

    def test(user: Any, obj: Any) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        if obj is None:
            return True
        return any(_fk_id(obj, field) == user.pk for field in fields)

    def q(user: Any) -> Q:
        if not getattr(user, "is_authenticated", False):
            return NOTHING
        return reduce(operator.or_, (Q(**{field: user.pk}) for field in fields))

    return Predicate(f"is_one_of({', '.join(fields)})", test, q)


def value_is(path: str, value: Any) -> Predicate:
    """The object's ``path`` (``"line__audience"``) equals ``value``."""

    def test(user: Any, obj: Any) -> bool:
        if obj is None:
            return True
        current = obj
        for part in path.split("__"):
            current = getattr(current, part, None)
        return bool(current == value)

    def q(user: Any) -> Q:
        return Q(**{path: value})

    return Predicate(f"value_is({path}={value})", test, q)


is_secretariat = has_role(Role.SECRETARIAT)
is_system_admin = has_role(Role.SYSTEM_ADMIN)
is_government_partner = has_role(Role.GOVERNMENT_PARTNER)
is_staff_member = has_role(*Role)


class Rule:
    """An action, allowed when any of its rule sets holds."""

    registry: dict[str, Rule] = {}

    def __init__(self, name: str, *rule_sets: Sequence[Predicate]) -> None:
        if not rule_sets or any(not rs for rs in rule_sets):
            raise ValueError(f"rule {name}: every rule set needs at least one predicate")
        self.name = name
        self.rule_sets = tuple(tuple(rs) for rs in rule_sets)
        Rule.registry[name] = self
        rule = self

        @rules.predicate(name=name)
        def check(user: Any, obj: Any = None) -> bool:
            return rule.test(user, obj)

        rules.set_perm(name, check)

    def test(self, user: Any, obj: Any = None) -> bool:
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return False
        return any(all(p.test(user, obj) for p in rs) for rs in self.rule_sets)

    def q(self, user: Any) -> Q:
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return NOTHING
        alternatives: list[Q] = []
        for rule_set in self.rule_sets:
            conditions = [predicate.q(user) for predicate in rule_set]
            if any(condition == NOTHING for condition in conditions):
                continue
            q_set = reduce(operator.and_, conditions, EVERYTHING)
            if q_set == EVERYTHING:
                # An empty Q would vanish when OR-ed with others: it means "all rows".
                return EVERYTHING
            alternatives.append(q_set)
        if not alternatives:
            return NOTHING
        return reduce(operator.or_, alternatives)

    def filter(self, user: Any, queryset: models.QuerySet[M]) -> models.QuerySet[M]:
        """The part of ``queryset`` that ``user`` may act on under this rule."""
        if not self.test(user, None):
            return queryset.none()
        return queryset.filter(self.q(user))

    def __repr__(self) -> str:
        sets = " | ".join("[" + ", ".join(p.name for p in rs) + "]" for rs in self.rule_sets)
        return f"<Rule {self.name}: {sets}>"


# --- The rules ------------------------------------------------------------------------
# Every staff member may read the network directory (organizations, sites, projects).
view_network = Rule("network.view_organization", [is_staff_member])
Rule("network.view_site", [is_staff_member])
Rule("network.view_collaborativeproject", [is_staff_member])
manage_network = Rule("network.manage", [is_secretariat], [is_system_admin])
for _model in ("organization", "site", "collaborativeproject"):
    for _verb in ("add", "change", "delete"):
        Rule(f"network.{_verb}_{_model}", [is_secretariat], [is_system_admin])

view_membership = Rule(
    "accounts.view_membership",
    [is_secretariat],
    [is_system_admin],
    [at_own_site("site", Role.SITE_COORDINATOR, Role.SUPERVISOR)],
)
manage_membership = Rule(
    "accounts.change_membership",
    [is_secretariat],
    [is_system_admin],
    [at_own_site("site", Role.SITE_COORDINATOR)],
)
Rule("accounts.add_membership", [is_secretariat], [is_system_admin])
Rule("accounts.delete_membership", [is_secretariat], [is_system_admin])
Rule("accounts.view_user", [is_secretariat], [is_system_admin])
Rule("accounts.add_user", [is_secretariat], [is_system_admin])
Rule("accounts.change_user", [is_secretariat], [is_system_admin])

view_audit = Rule("core.view_auditentry", [is_secretariat], [is_system_admin])
use_admin = Rule("core.use_admin", [is_secretariat], [is_system_admin])

# --- Contact records ------------------------------------------------------------------
# A listener sees the contacts they handled; supporters and supervisors their site's; the
# secretariat all; foster-care staff the foster-parent lines'; government partners none.
is_handler = is_one_of("listener", "supporter")
takes_contacts = has_role(Role.LISTENER, Role.SUPPORTER, Role.SUPERVISOR, Role.FOSTER_CARE_STAFF)
view_contact = Rule(
    "helpline.view_contact",
    [is_secretariat],
    [at_own_site("site", Role.SUPPORTER, Role.SUPERVISOR)],
    [takes_contacts, is_handler],
    [has_role(Role.FOSTER_CARE_STAFF), value_is("line__audience", "foster_parents")],
)
add_contact = Rule("helpline.add_contact", [takes_contacts])
change_contact = Rule(
    "helpline.change_contact",
    [takes_contacts, is_handler],
    [at_own_site("site", Role.SUPERVISOR)],
    [is_secretariat],
)
export_contacts = Rule("helpline.export_contact", [is_secretariat])
decide_escalation = Rule(
    "helpline.decide_escalation",
    [at_own_site("contact__site", Role.SUPERVISOR)],
    [has_role(Role.SUPERVISOR), value_is("contact__site", None)],
)
view_escalations = Rule(
    "helpline.view_escalation",
    [at_own_site("contact__site", Role.SUPERVISOR, Role.SUPPORTER)],
    [is_secretariat],
)
for _model in ("line", "openinghours", "annualclosure", "closure"):
    for _verb in ("view", "add", "change", "delete"):
        Rule(f"helpline.{_verb}_{_model}", [is_secretariat], [is_system_admin])

# --- Portal content -------------------------------------------------------------------
edit_pages = Rule("content.change_page", [is_secretariat], [is_system_admin])
edit_news = Rule("content.change_newsitem", [is_secretariat], [is_system_admin])

# --- Resource directory (相談できるところ) ------------------------------------------------
for _verb in ("view", "add", "change", "delete"):
    Rule(f"resources.{_verb}_resource", [is_secretariat], [is_system_admin])

# --- Live chat (オンライン相談) -------------------------------------------------------------
# Listeners, supporters and supervisors take chats from the queue. Supporters and
# supervisors watch, whisper, take over and transfer the live chats of their site (a chat's
# site is its listener's); the secretariat watches all. A transcript is seen like a contact
# record: the secretariat all, supporters and supervisors their site's, the listener theirs.
takes_chats = has_role(Role.LISTENER, Role.SUPPORTER, Role.SUPERVISOR)
supervises_chats = has_role(Role.SUPPORTER, Role.SUPERVISOR)
take_chat = Rule("chat.take_conversation", [takes_chats])
use_chat_console = Rule("chat.use_console", [takes_chats], [is_secretariat])
watch_chat = Rule(
    "chat.watch_conversation",
    [at_own_site("site", Role.SUPPORTER, Role.SUPERVISOR)],
    [is_secretariat],
)
take_over_chat = Rule(
    "chat.take_over_conversation", [at_own_site("site", Role.SUPPORTER, Role.SUPERVISOR)]
)
transfer_chat = Rule(
    "chat.transfer_conversation",
    [takes_chats, is_one_of("listener")],
    [at_own_site("site", Role.SUPPORTER, Role.SUPERVISOR)],
)
view_chat = Rule(
    "chat.view_conversation",
    [is_secretariat],
    [at_own_site("site", Role.SUPPORTER, Role.SUPERVISOR)],
    [takes_chats, is_one_of("listener")],
)
for _model in ("chatsettings", "cannedphrase"):
    for _verb in ("view", "add", "change", "delete"):
        Rule(f"chat.{_verb}_{_model}", [is_secretariat], [is_system_admin])

# --- Children's letters (子ども専用メール) ---------------------------------------------
# A line's letters are answered at the sites named in its mail settings. Listeners there
# see the letters waiting to be taken and the ones they took; supporters and supervisors
# there see all the line's letters; supervisors approve replies (supporters too where the
# line allows); the secretariat sees all. Everyone else: not found.


def answers_line_at_own_site(*roles: Role) -> Predicate:
    """The letter thread's line is answered at a site where the user holds one of
    ``roles`` (``mail.MailSettings.sites``)."""

    def test(user: Any, obj: Any) -> bool:
        sites = scope_of(user).sites_for(roles)
        if obj is None or not sites:
            return bool(sites)
        from uketome.mail.models import MailSettings

        return MailSettings.sites.through.objects.filter(
            mailsettings__line_id=obj.line_id, site_id__in=sorted(sites)
        ).exists()

    def q(user: Any) -> Q:
        sites = scope_of(user).sites_for(roles)
        if not sites:
            return NOTHING
        from uketome.mail.models import MailSettings

        lines = MailSettings.objects.filter(sites__in=sorted(sites)).values("line_id")
        return Q(line_id__in=lines)

    return Predicate(f"answers_line_at_own_site({', '.join(roles)})", test, q)


answers_letters = has_role(Role.LISTENER, Role.SUPPORTER, Role.SUPERVISOR)
view_letters = Rule(
    "mail.view_letterthread",
    [is_secretariat],
    [answers_line_at_own_site(Role.SUPPORTER, Role.SUPERVISOR)],
    [answers_line_at_own_site(Role.LISTENER), value_is("claimed_by", None)],
    [answers_letters, is_one_of("claimed_by")],
)
claim_letter = Rule(
    "mail.claim_letterthread",
    [
        answers_line_at_own_site(Role.LISTENER, Role.SUPPORTER, Role.SUPERVISOR),
        value_is("claimed_by", None),
    ],
)
draft_reply = Rule("mail.draft_reply", [answers_letters, is_one_of("claimed_by")])
approve_reply = Rule(
    "mail.approve_reply",
    [answers_line_at_own_site(Role.SUPERVISOR)],
    [
        answers_line_at_own_site(Role.SUPPORTER),
        value_is("line__mail_settings__supporters_may_approve", True),
    ],
)
finish_thread = Rule(
    "mail.finish_letterthread",
    [answers_letters, is_one_of("claimed_by")],
    [answers_line_at_own_site(Role.SUPERVISOR)],
)
for _verb in ("view", "add", "change"):
    Rule(f"mail.{_verb}_mailsettings", [is_secretariat], [is_system_admin])

# --- Q&A corner (e.g. MIEちゃんに聞いてみよう) -------------------------------------------
# The corner belongs to the whole network, not to a site. Listeners, supporters and
# supervisors read questions (the child's words: every read audited by the selector) and
# draft answers; supervisors and the secretariat approve, return, resolve personal-data
# flags and close; supervisors record what was done about a risky question. Nobody
# approves an answer they drafted (services.qa_approve).
drafts_qa = has_role(Role.LISTENER, Role.SUPPORTER, Role.SUPERVISOR)
view_qa_question = Rule("qa.view_question", [drafts_qa], [is_secretariat])
draft_qa_answer = Rule("qa.draft_answer", [drafts_qa])
approve_qa_answer = Rule("qa.approve_answer", [has_role(Role.SUPERVISOR)], [is_secretariat])
review_qa_risk = Rule("qa.review_risk", [has_role(Role.SUPERVISOR)])

# --- Statistics and the annual report ---------------------------------------------------
# The secretariat and government partners see the statistics and co-edit the annual report.
# Government partners (and every publication) only ever get suppressed counts; the
# secretariat may also see exact counts.
view_statistics = Rule("stats.view_statistics", [is_secretariat], [is_government_partner])
edit_report = Rule("stats.edit_report", [is_secretariat], [is_government_partner])
view_exact_counts = Rule("stats.view_exact_counts", [is_secretariat])

# --- Risk triage lexicon (危険度判定の語彙) -------------------------------------------------
# The secretariat edits the lexicon that scores children's messages; system administrators too.
for _verb in ("view", "add", "change", "delete"):
    Rule(f"triage.{_verb}_lexiconentry", [is_secretariat], [is_system_admin])
