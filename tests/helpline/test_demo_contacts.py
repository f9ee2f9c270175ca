"""Synthetic contacts: what a secretariat would notice if the demo numbers were wrong."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from uketome.accounts.models import Membership, User
from uketome.accounts.roles import Role
from uketome.core.dates import TOKYO
from uketome.helpline.demo_contacts import ContactGenerator, Staff, load_contacts
from uketome.helpline.hours import Schedule, open_now
from uketome.helpline.models import Contact, ContactTopic, Escalation, EscalationStatus, Line
from uketome.helpline.taxonomy import current_version

NOW = datetime(2026, 11, 26, 21, 30, tzinfo=TOKYO)
DAYS = 365
COUNT = 2000
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture
def staff(
    settings: Any, lines: dict[str, Line], make_staff: Callable[..., User]
) -> dict[str, User]:
    """Two listeners at 津, one at 鈴鹿, a supervisor at each site and foster-care staff."""
    # Nobody signs in here: a fast hasher keeps the fixture cheap.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return {
        "listener_tsu": make_staff(Role.LISTENER, "tsu"),
        "listener_tsu_2": make_staff(Role.LISTENER, "tsu"),
        "listener_suzuka": make_staff(Role.LISTENER, "suzuka"),
        "supporter_tsu": make_staff(Role.SUPPORTER, "tsu"),
        "supervisor_tsu": make_staff(Role.SUPERVISOR, "tsu"),
        "supervisor_suzuka": make_staff(Role.SUPERVISOR, "suzuka"),
        "fostercare": make_staff(Role.FOSTER_CARE_STAFF),
        "secretariat": make_staff(Role.SECRETARIAT),
    }


@pytest.fixture
def contacts(staff: dict[str, User]) -> list[Contact]:
    assert load_contacts(count=COUNT, days=DAYS, now=NOW) == COUNT
    return list(
        Contact.objects.select_related("line", "outcome", "age_band", "risk_level")
        .prefetch_related("topics", "feelings")
        .order_by("started_at", "id")
    )


def is_conversation(contact: Contact) -> bool:
    return contact.outcome is not None and contact.outcome.code == "conversation"


@pytest.mark.django_db
def test_every_contact_starts_while_its_line_is_open(contacts: list[Contact]) -> None:
    schedules = {
        line.pk: Schedule.of(line, NOW - timedelta(days=DAYS + 1), DAYS + 2)
        for line in Line.objects.all()
    }
    assert all(NOW - timedelta(days=DAYS) <= c.started_at <= NOW for c in contacts)
    outside = [
        c
        for c in contacts
        if c.channel in {"phone", "chat"} and not open_now(schedules[c.line_id], c.started_at)
    ]
    assert outside == []
    # チャイルドラインMIE is closed 29 Dec - 3 Jan.
    childline = [c for c in contacts if c.line.slug == "childline"]
    days = [c.started_at.astimezone(TOKYO) for c in childline]
    assert [d for d in days if (d.month, d.day) >= (12, 29) or (d.month, d.day) <= (1, 3)] == []


@pytest.mark.django_db
def test_lines_and_channels(contacts: list[Contact]) -> None:
    by_line = Counter(c.line.slug for c in contacts)
    assert by_line["childline"] / COUNT == pytest.approx(0.60, abs=0.05)
    assert by_line["hotdial"] / COUNT == pytest.approx(0.25, abs=0.05)
    assert by_line["childline"] > by_line["hotdial"] > by_line["chat"] > by_line["foster"]
    for contact in contacts:
        assert contact.channel in contact.line.channels
        if contact.channel in {"chat", "mail"}:
            assert is_conversation(contact)


@pytest.mark.django_db
def test_about_half_the_calls_never_become_a_conversation(contacts: list[Contact]) -> None:
    calls = [c for c in contacts if c.channel == "phone" and c.line.audience == "children"]
    not_talked = [c for c in calls if not is_conversation(c)]
    assert 0.40 <= len(not_talked) / len(calls) <= 0.60
    outcomes = Counter(c.outcome.code for c in not_talked if c.outcome)
    assert outcomes.most_common(1)[0][0] == "hung_up"
    assert set(outcomes) == {
        "silent", "hung_up", "prank", "test_call", "wrong_number", "adult_caller"
    }  # fmt: skip


@pytest.mark.django_db
def test_children_call_after_school(contacts: list[Contact]) -> None:
    childline = [c for c in contacts if c.line.slug == "childline"]
    evening = [c for c in childline if 16 <= c.started_at.astimezone(TOKYO).hour <= 20]
    assert len(evening) / len(childline) >= 0.80
    phone = [c for c in contacts if c.channel == "phone" and c.line.audience == "children"]
    phone_evening = [c for c in phone if 16 <= c.started_at.astimezone(TOKYO).hour <= 20]
    assert len(phone_evening) / len(phone) >= 0.85


@pytest.mark.django_db
def test_junior_high_pupils_and_girls_call_most(contacts: list[Contact]) -> None:
    talks = [c for c in contacts if is_conversation(c) and c.line.audience == "children"]
    bands = Counter(c.age_band.code for c in talks if c.age_band)
    known = {code: n for code, n in bands.items() if code != "unknown"}
    assert max(known, key=known.__getitem__) == "junior_high"
    assert bands["junior_high"] / len(talks) == pytest.approx(0.40, abs=0.06)
    genders = Counter(c.gender.code for c in talks if c.gender)
    assert genders["girl"] > genders["boy"] > genders["other_or_no_answer"]
    # A grade, when recorded, belongs to the age band.
    graded = [c for c in talks if c.grade_id]
    assert 0.25 <= len(graded) / len(talks) <= 0.6
    for contact in graded:
        assert contact.grade.attrs["age_band"] == contact.age_band.code


@pytest.mark.django_db
def test_only_conversations_carry_the_content(contacts: list[Contact]) -> None:
    for contact in contacts:
        topics = list(contact.topics.all())
        feelings = list(contact.feelings.all())
        if is_conversation(contact):
            assert 1 <= len(topics) <= 3
            assert len(feelings) <= 3
            assert contact.summary
        else:
            assert topics == [] and feelings == []
            assert contact.age_band_id is None and contact.gender_id is None
            assert contact.risk_level_id is None and contact.risk_rank == 0
            assert contact.summary is None
            assert contact.duration_seconds is not None and contact.duration_seconds <= 120


@pytest.mark.django_db
def test_topics_follow_the_annual_report(contacts: list[Contact]) -> None:
    counts = Counter(
        ContactTopic.objects.filter(contact__line__audience="children").values_list(
            "term__code", flat=True
        )
    )
    top = [code for code, _n in counts.most_common(3)]
    assert top[0] == "human_relations"
    assert set(top) <= {"human_relations", "sexual_interest", "chat", "mind"}
    assert 0 < counts["abuse"] < counts["human_relations"] / 4
    assert 0 < counts["suicide_self_harm"] < counts["human_relations"] / 10


@pytest.mark.django_db
def test_durations_are_consistent(contacts: list[Contact]) -> None:
    phone_talks: list[float] = []
    chats: list[float] = []
    for contact in contacts:
        if contact.channel == "mail":
            assert contact.ended_at is None and contact.duration_seconds is None
            continue
        assert contact.ended_at is not None and contact.duration_seconds is not None
        assert contact.ended_at - contact.started_at == timedelta(seconds=contact.duration_seconds)
        assert contact.ended_at <= NOW
        if is_conversation(contact):
            (chats if contact.channel == "chat" else phone_talks).append(
                contact.duration_seconds / 60
            )
    phone_talks.sort()
    chats.sort()
    assert 3 <= phone_talks[0] and phone_talks[-1] <= 60
    assert 9 <= phone_talks[len(phone_talks) // 2] <= 15
    assert 30 <= chats[len(chats) // 2] <= 50


@pytest.mark.django_db
def test_summaries_are_encrypted_japanese(contacts: list[Contact]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT summary FROM helpline_contact WHERE summary IS NOT NULL")
        stored = [row[0] for row in cursor.fetchall()]
    assert stored
    assert all(token.startswith("gAAAAA") and not JAPANESE.search(token) for token in stored)
    summaries = [c.summary for c in contacts if c.summary]
    assert len(summaries) == len(stored)
    assert all(JAPANESE.search(text) for text in summaries)


@pytest.mark.django_db
def test_listeners_take_contacts_at_their_own_site(
    contacts: list[Contact], staff: dict[str, User]
) -> None:
    listener_sites = {
        (user_id, site_id)
        for user_id, site_id in Membership.objects.filter(role=Role.LISTENER).values_list(
            "user_id", "site_id"
        )
    }
    for contact in contacts:
        if contact.line.audience == "foster_parents":
            assert contact.listener_id == staff["fostercare"].pk
            assert contact.site_id is None
        else:
            assert (contact.listener_id, contact.site_id) in listener_sites
        assert contact.recorded_by_id == contact.listener_id
        assert contact.taxonomy_id == current_version().pk


@pytest.mark.django_db
def test_escalations_exactly_for_high_and_urgent_risk(contacts: list[Contact]) -> None:
    at_risk = {c.pk for c in contacts if c.risk_rank >= 2}
    escalations = list(Escalation.objects.select_related("contact", "action"))
    assert {e.contact_id for e in escalations} == at_risk
    assert at_risk, "some contacts are at high or urgent risk"
    ranks = Counter(c.risk_rank for c in contacts if is_conversation(c))
    talks = sum(ranks.values())
    assert ranks[0] / talks == pytest.approx(0.85, abs=0.04)
    assert ranks[2] / talks == pytest.approx(0.025, abs=0.015)
    for contact in contacts:
        if contact.risk_level is not None:
            assert contact.risk_rank == contact.risk_level.rank
    supervisors = {
        (user_id, site_id)
        for user_id, site_id in Membership.objects.filter(role=Role.SUPERVISOR).values_list(
            "user_id", "site_id"
        )
    }
    week_ago = NOW - timedelta(days=7)
    for escalation in escalations:
        assert escalation.raised_at >= escalation.contact.started_at
        if escalation.raised_at < week_ago:
            assert escalation.status == EscalationStatus.DECIDED
            assert escalation.action is not None
            assert (escalation.decided_by_id, escalation.contact.site_id) in supervisors
            assert escalation.decided_at is not None
            assert escalation.raised_at < escalation.decided_at <= NOW
            assert escalation.decided_at - escalation.raised_at < timedelta(minutes=30)
        else:
            assert escalation.status == EscalationStatus.OPEN
            assert escalation.decided_by_id is None


@pytest.mark.django_db
def test_loading_twice_adds_nothing(contacts: list[Contact]) -> None:
    before = (Contact.objects.count(), ContactTopic.objects.count(), Escalation.objects.count())
    assert load_contacts(count=500, days=DAYS, now=NOW) == COUNT
    after = (Contact.objects.count(), ContactTopic.objects.count(), Escalation.objects.count())
    assert after == before


@pytest.mark.django_db
def test_same_seed_same_contacts(staff: dict[str, User]) -> None:
    def plan(seed: int) -> list[Any]:
        generator = ContactGenerator(
            version=current_version(),
            lines=list(Line.objects.all()),
            staff=Staff.from_db(),
            now=NOW,
            days=DAYS,
            seed=seed,
        )
        return list(generator.rows(300))

    first = plan(7)
    assert first == plan(7)
    assert first != plan(8)
    assert [row.started_at for row in first] == sorted(row.started_at for row in first)
