"""Synthetic contact records for the demo and for benchmarks.

The numbers follow DOMAIN.md and published Childline reports: most contacts come by
phone, half the calls never become a conversation (silent, hung up, pranks), children
call after school, junior-high pupils and girls call most, 人間関係 and 性への興味・関心
lead the topics, and a few contacts are at high or urgent risk and carry an escalation.

    load_contacts(count=20_000)   # does nothing if any contact exists

``ContactGenerator`` plans the rows (plain values, no ORM objects), so a benchmark can
insert them with raw SQL and the demo with ``bulk_create``. Everything is drawn from one
``random.Random(seed)``: the same seed, ``now`` and database give the same contacts.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone

from uketome.accounts.models import Membership
from uketome.accounts.roles import Role
from uketome.core.dates import TOKYO
from uketome.helpline.hours import open_periods
from uketome.helpline.models import (
    Channel,
    Contact,
    ContactTopic,
    Escalation,
    EscalationStatus,
    Line,
    RepeatContact,
    TermKind,
)
from uketome.helpline.taxonomy import current_version, terms

BATCH = 2_000

# --- Distributions ----------------------------------------------------------------------

# Share of contacts per line (by slug). Lines not named here get a small share.
LINE_SHARES = {"childline": 60.0, "hotdial": 25.0, "chat": 8.0, "mail": 6.0, "foster": 1.0}
OTHER_LINE_SHARE = 1.0

# Phone outcomes on the children's lines (codes of the taxonomy's outcomes).
PHONE_OUTCOMES = {
    "conversation": 50.0,
    "silent": 15.0,
    "hung_up": 20.0,
    "prank": 5.0,
    "test_call": 4.0,
    "wrong_number": 3.0,
    "adult_caller": 3.0,
}
# Foster parents phone to talk: most calls are conversations.
FOSTER_OUTCOMES = {"conversation": 90.0, "hung_up": 6.0, "wrong_number": 4.0}
# Length in seconds of calls that never became a conversation: (shortest, longest).
SHORT_CALLS = {
    "silent": (5, 120),
    "hung_up": (0, 30),
    "prank": (10, 120),
    "test_call": (5, 60),
    "wrong_number": (5, 40),
    "adult_caller": (20, 120),
}

AGE_BANDS = {
    "junior_high": 40.0,
    "age_15_18": 25.0,
    "upper_elementary": 20.0,
    "lower_elementary": 5.0,
    "unknown": 10.0,
}
GENDERS = {"girl": 55.0, "boy": 35.0, "other_or_no_answer": 3.0, "unknown": 7.0}
GRADE_SHARE = 0.5  # conversations with a known band that also record the grade

# Topics: the annual report's top ten in its order, then the other report topics, then
# the rest of the list at a low weight. 虐待 and 自殺・自傷 are present but rare.
TOPIC_WEIGHTS = {
    "human_relations": 22.0,
    "sexual_interest": 15.0,
    "chat": 12.0,
    "mind": 10.0,
    "bullying": 7.0,
    "romance": 6.0,
    "body": 5.0,
    "career": 4.0,
    "study": 3.0,
    "abuse": 2.4,
    "family": 1.6,
    "school": 1.5,
    "school_refusal": 1.3,
    "appearance_illness": 1.2,
    "online_trouble": 1.1,
    "suicide_self_harm": 0.8,
    "other": 0.5,
    "helpline_question": 0.4,
    "non_counselling": 0.0,
}
OTHER_TOPIC_WEIGHT = 0.3
FOSTER_TOPICS = {
    "foster_care": 10.0,
    "family": 6.0,
    "development_disability": 4.0,
    "school": 3.0,
    "school_refusal": 2.0,
    "other": 1.0,
}
# Light differences by gender, as the reports show (boys ask about sex more often).
GENDER_TOPIC_FACTOR = {
    "boy": {"sexual_interest": 2.0, "romance": 0.7},
    "girl": {"sexual_interest": 0.5, "human_relations": 1.2, "romance": 1.3},
}
TOPIC_COUNT = {1: 55.0, 2: 30.0, 3: 15.0}

FEELING_WEIGHTS = {
    "anxious": 14.0,
    "distressed": 12.0,
    "troubled": 9.0,
    "angry": 7.0,
    "lonely": 7.0,
    "sad": 6.0,
    "happy": 6.0,
    "unconfident": 5.0,
    "tired": 4.0,
    "confused": 4.0,
    "undecided": 4.0,
    "scared": 3.0,
    "dissatisfied": 3.0,
    "isolated": 3.0,
    "ashamed": 2.0,
    "relieved": 2.0,
    "hopeful": 2.0,
    "resigned": 2.0,
    "guilty": 1.0,
    "unclear": 4.0,
}
FEELING_COUNT = {0: 25.0, 1: 35.0, 2: 25.0, 3: 15.0}

# Risk: mostly none; contacts about abuse or suicide are more often at risk. Overall about
# なし 85%, 注意 12%, 高 2.5%, 緊急 0.5%.
RISK = {"none": 87.5, "watch": 10.6, "high": 1.6, "urgent": 0.27}
RISK_SENSITIVE = {"none": 35.0, "watch": 40.0, "high": 20.0, "urgent": 5.0}
SENSITIVE_TOPICS = frozenset({"abuse", "suicide_self_harm", "sexual_violence", "violence"})
ESCALATION_ACTIONS = {
    "urgent": {"notify_child_guidance_centre": 5.0, "police_110": 3.0, "ambulance_119": 2.0},
    "high": {
        "notify_child_guidance_centre": 3.0,
        "referral": 3.0,
        "school": 1.0,
        "monitor": 3.0,
        "no_action": 1.0,
    },
}
TO_WHOM = {
    "notify_child_guidance_centre": ["児童相談所"],
    "police_110": ["警察（110）"],
    "ambulance_119": ["消防（119）"],
    "referral": ["市の子ども家庭相談窓口", "スクールカウンセラー", "医療機関", "子ども食堂"],
    "school": ["在籍校", "教育委員会"],
}
OPEN_ESCALATION_DAYS = 7  # escalations raised in the last week are still waiting

REPEAT = {RepeatContact.REPEAT: 30.0, RepeatContact.FIRST: 55.0, RepeatContact.UNKNOWN: 15.0}

# Main concern, relationship and setting that go with a contact's first topic.
MAIN_CONCERN_OF_TOPIC = {
    "human_relations": "school",
    "sexual_interest": "sexuality",
    "bullying": "school",
    "study": "school",
    "school": "school",
    "school_refusal": "school",
    "teacher": "school",
    "abuse": "home",
    "family": "home",
    "young_carer": "home",
    "foster_care": "home",
    "online_trouble": "online_trouble",
    "online_sexual_abuse": "online_trouble",
    "club_activities": "club_activities",
    "work": "workplace",
    "gender_sexual_diversity": "sexuality",
    "pregnancy": "sexuality",
    "sexual_violence": "sexuality",
}
RELATIONSHIP_OF_TOPIC = {
    "human_relations": ["friend"],
    "bullying": ["friend", "club_peer"],
    "friend_trouble": ["friend"],
    "romance": ["partner"],
    "abuse": ["mother", "father", "other_family"],
    "family": ["mother", "father", "sibling", "grandparent"],
    "teacher": ["teacher"],
    "school": ["teacher", "friend"],
    "club_activities": ["club_peer"],
    "online_trouble": ["online_acquaintance"],
    "online_sexual_abuse": ["online_acquaintance"],
    "work": ["coworker"],
    "foster_care": ["carer"],
}
SETTING_OF_CONCERN = {
    "school": "school",
    "club_activities": "school",
    "home": "home",
    "online_trouble": "internet",
    "workplace": "workplace",
    "community": "community",
    "sexuality": "unknown",
    "self": "unknown",
}

# Short synthetic summaries by first topic (no names, places or other personal details).
SUMMARIES = {
    "human_relations": [
        "友だちとのことで悩んでいると話した。",
        "クラスのグループに入れず、休み時間がつらいと話した。",
        "仲のよかった友だちと気まずくなったと話した。",
    ],
    "sexual_interest": [
        "からだの変化や性のことを知りたいと話した。",
        "性について誰にも聞けないことを聞いてみたいと話した。",
    ],
    "chat": [
        "今日あったことを話したくて電話したと話した。",
        "好きなゲームや部活のことを楽しそうに話した。",
        "ひまなので誰かと話したかったと話した。",
    ],
    "mind": [
        "最近気持ちが落ち込んで眠れないと話した。",
        "理由はわからないがイライラすると話した。",
    ],
    "bullying": [
        "クラスで無視されていると話した。",
        "SNSで悪口を書かれていると話した。",
        "からかわれるのがいやだが先生には言えないと話した。",
    ],
    "romance": [
        "好きな人に告白するか迷っていると話した。",
        "恋人とけんかして落ち込んでいると話した。",
    ],
    "body": ["身長や体の成長が気になると話した。", "生理のことで心配があると話した。"],
    "career": ["進路をどうするか決められないと話した。", "将来の夢について話した。"],
    "study": ["テストの点が下がって親に言えないと話した。", "勉強についていけないと話した。"],
    "abuse": [
        "家でたたかれることがあると話した。",
        "親から強い言葉で責められ、家にいるのがこわいと話した。",
    ],
    "family": ["親とけんかして家に居づらいと話した。", "きょうだいのことで悩んでいると話した。"],
    "school": ["学校の決まりに納得できないと話した。", "転校先になじめないと話した。"],
    "school_refusal": ["学校に行けない日が続いていると話した。"],
    "appearance_illness": ["見た目のことが気になって人に会いたくないと話した。"],
    "online_trouble": ["ネットで知り合った人とのやりとりで困っていると話した。"],
    "suicide_self_harm": [
        "消えてしまいたい気持ちがあると話した。",
        "つらくなると自分を傷つけてしまうと話した。",
    ],
    "foster_care": [
        "里子との関わり方について相談があった。",
        "委託されている子どもの学校生活について相談があった。",
    ],
}
GENERIC_SUMMARIES = ["気になっていることを話した。", "話を聞いてほしいと話した。"]
NOTES = ["振り返りで共有した。", "支え手と一緒に対応した。", "次回の研修で取り上げたい。"]
NOTE_SHARE = 0.03
SUPPORTER_SHARE = 0.15  # conversations a supporter joined (more often at risk)

# Hour-of-day weights (Tokyo). Children call after school; letters come in the evening.
PHONE_HOURS = {13: 0.3, 14: 0.4, 15: 0.6, 16: 1.0, 17: 1.3, 18: 1.25, 19: 1.15, 20: 1.0}
MAIL_HOURS = {h: 0.3 for h in range(0, 6)} | {h: 0.4 for h in range(6, 15)}
MAIL_HOURS |= {15: 0.8, 16: 1.0, 17: 1.0, 18: 1.0, 19: 1.1, 20: 1.2, 21: 1.3, 22: 1.2, 23: 0.8}
# Chats queue up at opening time; few start in the last hour.
CHAT_HOURS = {19: 1.6, 20: 0.5}
WEEKEND_FACTOR = 1.15
MONTH_FACTOR = {4: 1.1, 8: 0.85, 9: 1.15, 12: 0.9}


def _cum(weights: dict[Any, float]) -> tuple[list[Any], list[float]]:
    keys = [k for k, w in weights.items() if w > 0]
    total = 0.0
    cum = []
    for key in keys:
        total += weights[key]
        cum.append(total)
    return keys, cum


def _pick(rng: random.Random, table: tuple[list[Any], list[float]]) -> Any:
    keys, cum = table
    return keys[bisect.bisect_right(cum, rng.random() * cum[-1])]


def _pick_distinct(rng: random.Random, table: tuple[list[Any], list[float]], k: int) -> list[Any]:
    """``k`` different keys, each drawn by weight from those not drawn yet."""
    k = min(k, len(table[0]))
    chosen: list[Any] = []
    while len(chosen) < k:
        key = _pick(rng, table)
        if key not in chosen:
            chosen.append(key)
    return chosen


# --- Planned rows -------------------------------------------------------------------------


class PlannedEscalation(NamedTuple):
    status: str
    raised_at: datetime
    action_id: int | None
    to_whom: str
    acted_at: datetime | None
    decided_by_id: int | None
    decided_at: datetime | None


class PlannedContact(NamedTuple):
    """One contact as plain values (ids, not objects)."""

    line_id: int
    channel: str
    site_id: int | None
    listener_id: int | None
    supporter_id: int | None
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: int | None
    outcome_id: int | None
    age_band_id: int | None
    gender_id: int | None
    grade_id: int | None
    repeat: str
    main_concern_id: int | None
    relationship_id: int | None
    setting_id: int | None
    risk_level_id: int | None
    risk_rank: int
    summary: str | None
    notes: str | None
    topic_ids: tuple[int, ...]
    feeling_ids: tuple[int, ...]
    escalation: PlannedEscalation | None


@dataclass
class Staff:
    """Who takes contacts: (user id, site id) of listeners, supporters and supervisors by
    site, and the foster-care staff (network-wide)."""

    listeners: list[tuple[int, int]]
    supporters_by_site: dict[int, list[int]] = field(default_factory=dict)
    supervisors_by_site: dict[int, list[int]] = field(default_factory=dict)
    foster_staff: list[int] = field(default_factory=list)

    @classmethod
    def from_db(cls) -> Staff:
        active = Membership.objects.active()
        seen: set[int] = set()
        listeners = []
        for user_id, site_id in (
            active.filter(role=Role.LISTENER, site__isnull=False)
            .order_by("user_id", "site_id")
            .values_list("user_id", "site_id")
        ):
            if user_id not in seen:  # a listener at two sites answers at the first
                seen.add(user_id)
                listeners.append((user_id, site_id))
        by_site: dict[str, dict[int, list[int]]] = {Role.SUPPORTER: {}, Role.SUPERVISOR: {}}
        for role, user_id, site_id in (
            active.filter(role__in=[Role.SUPPORTER, Role.SUPERVISOR], site__isnull=False)
            .order_by("role", "site_id", "user_id")
            .values_list("role", "user_id", "site_id")
        ):
            by_site[role].setdefault(site_id, []).append(user_id)
        foster = sorted(
            set(active.filter(role=Role.FOSTER_CARE_STAFF).values_list("user_id", flat=True))
        )
        return cls(
            listeners=listeners,
            supporters_by_site=by_site[Role.SUPPORTER],
            supervisors_by_site=by_site[Role.SUPERVISOR],
            foster_staff=foster,
        )


@dataclass
class _LineTimes:
    """A line's open time in the window, cut into hour buckets weighted by demand."""

    starts: list[float]  # POSIX seconds
    lengths: list[float]
    period_ends: list[float]
    cum: list[float]

    def sample(self, rng: random.Random) -> tuple[float, float]:
        i = bisect.bisect_right(self.cum, rng.random() * self.cum[-1])
        i = min(i, len(self.starts) - 1)
        return self.starts[i] + rng.random() * self.lengths[i], self.period_ends[i]


def _line_times(line: Line, start: datetime, end: datetime) -> _LineTimes | None:
    if line.always_open:
        hours_weight = MAIL_HOURS
    elif "phone" in line.channels and line.audience == "children":
        hours_weight = PHONE_HOURS
    elif "chat" in line.channels:
        hours_weight = CHAT_HOURS
    else:
        hours_weight = {}
    starts: list[float] = []
    lengths: list[float] = []
    ends: list[float] = []
    cum: list[float] = []
    total = 0.0
    for p_start, p_end in open_periods(line, start, end):
        p_start = max(p_start, start).astimezone(TOKYO)
        p_end = min(p_end, end).astimezone(TOKYO)
        moment = p_start
        while moment < p_end:
            boundary = moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            piece_end = min(boundary, p_end)
            length = (piece_end - moment).total_seconds()
            weight = hours_weight.get(moment.hour, 1.0) * MONTH_FACTOR.get(moment.month, 1.0)
            if moment.weekday() >= 5:
                weight *= WEEKEND_FACTOR
            weight *= length / 3600
            if weight > 0:
                total += weight
                starts.append(moment.timestamp())
                lengths.append(length)
                ends.append(p_end.timestamp())
                cum.append(total)
            moment = piece_end
    if not starts:
        return None
    return _LineTimes(starts, lengths, ends, cum)


class ContactGenerator:
    """Plans synthetic contacts against the taxonomy, lines and staff given."""

    def __init__(
        self,
        *,
        version: Any,
        lines: list[Line],
        staff: Staff,
        now: datetime,
        days: int,
        seed: int,
    ) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.window_start = now - timedelta(days=days)
        self.version = version
        self.staff = staff
        self.t: dict[str, dict[str, Any]] = {}
        for kind in TermKind.values:
            self.t[kind] = {term.code: term for term in terms(version, kind)}
        self.lines = lines
        self.times = {line.pk: _line_times(line, self.window_start, now) for line in lines}
        shares = {
            line.pk: LINE_SHARES.get(line.slug, OTHER_LINE_SHARE)
            for line in lines
            if self.times[line.pk] is not None
        }
        self.line_table = _cum(shares)
        self.line_by_id = {line.pk: line for line in lines}
        # Some volunteers take many more shifts than others.
        self.listener_table = _cum(
            {i: self.rng.lognormvariate(0, 0.6) for i in range(len(staff.listeners))}
        )
        codes = self._codes
        self.phone_outcomes = _cum(codes(TermKind.OUTCOME, PHONE_OUTCOMES))
        self.foster_outcomes = _cum(codes(TermKind.OUTCOME, FOSTER_OUTCOMES))
        self.age_table = _cum(codes(TermKind.AGE_BAND, AGE_BANDS))
        self.gender_table = _cum(codes(TermKind.GENDER, GENDERS))
        topic_weights = {
            code: TOPIC_WEIGHTS.get(code, OTHER_TOPIC_WEIGHT) for code in self.t[TermKind.TOPIC]
        }
        self.topic_table = _cum(topic_weights)
        self.topic_table_by_gender = {
            gender: _cum({code: w * factors.get(code, 1.0) for code, w in topic_weights.items()})
            for gender, factors in GENDER_TOPIC_FACTOR.items()
        }
        self.foster_topic_table = _cum(codes(TermKind.TOPIC, FOSTER_TOPICS))
        self.topic_count = _cum(TOPIC_COUNT)
        self.feeling_table = _cum(codes(TermKind.FEELING, FEELING_WEIGHTS))
        self.feeling_count = _cum(FEELING_COUNT)
        self.risk_table = _cum(codes(TermKind.RISK_LEVEL, RISK))
        self.risk_sensitive = _cum(codes(TermKind.RISK_LEVEL, RISK_SENSITIVE))
        self.repeat_table = _cum(REPEAT)
        self.actions = {
            level: _cum(codes(TermKind.ESCALATION_ACTION, weights))
            for level, weights in ESCALATION_ACTIONS.items()
        }
        self.grades_by_band: dict[str, list[str]] = {}
        for code, term in self.t[TermKind.GRADE].items():
            band = term.attrs.get("age_band")
            if band and band != "unknown" and code != "unknown":
                self.grades_by_band.setdefault(band, []).append(code)
        self.all_supervisors = sorted(
            {u for users in staff.supervisors_by_site.values() for u in users}
        )

    def _codes(self, kind: str, weights: dict[str, float]) -> dict[str, float]:
        """Only the codes this taxonomy version has."""
        return {code: w for code, w in weights.items() if code in self.t[kind]}

    def _id(self, kind: str, code: str | None) -> int | None:
        if code is None:
            return None
        term = self.t[kind].get(code)
        return term.pk if term is not None else None

    def rows(self, count: int) -> Iterator[PlannedContact]:
        """``count`` contacts, oldest first."""
        if not self.line_table[0]:
            return
        rng = self.rng
        moments: list[tuple[float, float, int]] = []
        for _ in range(count):
            line_id = _pick(rng, self.line_table)
            times = self.times[line_id]
            if times is None:
                continue
            at, period_end = times.sample(rng)
            moments.append((at, period_end, line_id))
        moments.sort()
        for at, period_end, line_id in moments:
            yield self._row(at, period_end, self.line_by_id[line_id])

    def _handler(self, line: Line) -> tuple[int | None, int | None]:
        if line.audience == "foster_parents" and self.staff.foster_staff:
            return self.rng.choice(self.staff.foster_staff), None
        if not self.staff.listeners:
            return None, None
        return self.staff.listeners[_pick(self.rng, self.listener_table)]

    def _row(self, at: float, period_end: float, line: Line) -> PlannedContact:
        rng = self.rng
        started = datetime.fromtimestamp(at, tz=TOKYO).replace(microsecond=0)
        now_ts = self.now.timestamp()
        channels = line.channels or [Channel.PHONE]
        if line.always_open and Channel.MAIL in channels:
            channel = Channel.MAIL
        else:
            channel = next((c for c in channels if c != Channel.MAIL), channels[0])
        foster = line.audience == "foster_parents"
        listener_id, site_id = self._handler(line)

        if channel == Channel.PHONE:
            outcome = _pick(rng, self.foster_outcomes if foster else self.phone_outcomes)
        else:
            outcome = "conversation"
        conversation = outcome == "conversation"

        # Duration.
        duration: int | None
        if channel == Channel.MAIL:
            duration = None
        elif not conversation:
            low, high = SHORT_CALLS.get(outcome, (0, 120))
            duration = rng.randint(low, high)
        elif channel == Channel.CHAT:
            minutes = min(max(rng.lognormvariate(math.log(44), 0.3), 8), 110)
            # A chat ends at closing time at the latest.
            duration = int(min(minutes * 60, max(period_end - at, 60)))
        else:
            minutes = min(max(rng.lognormvariate(math.log(12), 0.75), 3), 60)
            duration = int(minutes * 60)
        if duration is not None:
            duration = max(0, min(duration, int(now_ts - started.timestamp())))
        ended = started + timedelta(seconds=duration) if duration is not None else None

        outcome_id = self._id(TermKind.OUTCOME, outcome)
        if not conversation:
            return PlannedContact(
                line.pk, channel, site_id, listener_id, None, started, ended, duration,
                outcome_id, None, None, None, RepeatContact.UNKNOWN, None, None, None, None, 0,
                None, None, (), (), None,
            )  # fmt: skip

        # Who called.
        if foster:
            age = "adult" if "adult" in self.t[TermKind.AGE_BAND] else "unknown"
            gender = _pick(rng, self.gender_table)
        else:
            age = _pick(rng, self.age_table)
            gender = _pick(rng, self.gender_table)
        grade = None
        if age in self.grades_by_band and rng.random() < GRADE_SHARE:
            grade = rng.choice(self.grades_by_band[age])

        # What about.
        if foster:
            table = self.foster_topic_table
        else:
            table = self.topic_table_by_gender.get(gender, self.topic_table)
        topics = _pick_distinct(rng, table, _pick(rng, self.topic_count)) if table[0] else []
        feelings = (
            _pick_distinct(rng, self.feeling_table, _pick(rng, self.feeling_count))
            if self.feeling_table[0]
            else []
        )
        first = topics[0] if topics else "other"
        concern = MAIN_CONCERN_OF_TOPIC.get(first, "self")
        relationship = rng.choice(RELATIONSHIP_OF_TOPIC.get(first, ["self"]))
        setting = SETTING_OF_CONCERN.get(concern, "unknown")
        if rng.random() < 0.2:  # not always recorded
            concern = relationship = setting = None  # type: ignore[assignment]

        # Risk.
        if foster:
            risk = "watch" if rng.random() < 0.1 else "none"
        elif SENSITIVE_TOPICS.intersection(topics):
            risk = _pick(rng, self.risk_sensitive)
        else:
            risk = _pick(rng, self.risk_table)
        risk_term = self.t[TermKind.RISK_LEVEL].get(risk)
        risk_rank = int(risk_term.attrs.get("rank", 0)) if risk_term is not None else 0

        supporter_id = None
        supporters = self.staff.supporters_by_site.get(site_id or 0)
        if supporters and rng.random() < (0.6 if risk_rank >= 1 else SUPPORTER_SHARE):
            supporter_id = rng.choice(supporters)

        summary = rng.choice(SUMMARIES.get(first, GENERIC_SUMMARIES))
        notes = rng.choice(NOTES) if rng.random() < NOTE_SHARE else None

        escalation = None
        if risk_term is not None and risk_term.attrs.get("alert"):
            escalation = self._escalation(risk, ended or started, site_id)

        return PlannedContact(
            line.pk,
            channel,
            site_id,
            listener_id,
            supporter_id,
            started,
            ended,
            duration,
            outcome_id,
            self._id(TermKind.AGE_BAND, age),
            self._id(TermKind.GENDER, gender),
            self._id(TermKind.GRADE, grade),
            _pick(rng, self.repeat_table),
            self._id(TermKind.MAIN_CONCERN, concern),
            self._id(TermKind.RELATIONSHIP, relationship),
            self._id(TermKind.SETTING, setting),
            self._id(TermKind.RISK_LEVEL, risk),
            risk_rank,
            summary,
            notes,
            tuple(self.t[TermKind.TOPIC][c].pk for c in topics),
            tuple(self.t[TermKind.FEELING][c].pk for c in feelings),
            escalation,
        )

    def _escalation(self, risk: str, after: datetime, site_id: int | None) -> PlannedEscalation:
        rng = self.rng
        raised = min(after + timedelta(seconds=rng.randint(30, 240)), self.now)
        deciders = self.staff.supervisors_by_site.get(site_id or 0) or self.all_supervisors
        decided_at = raised + timedelta(seconds=rng.randint(3 * 60, 25 * 60))
        if raised > self.now - timedelta(days=OPEN_ESCALATION_DAYS) or decided_at > self.now:
            return PlannedEscalation(EscalationStatus.OPEN, raised, None, "", None, None, None)
        table = self.actions.get(risk)
        action = _pick(rng, table) if table and table[0] else None
        acted_at = None
        if action in TO_WHOM:
            acted_at = min(decided_at + timedelta(seconds=rng.randint(0, 15 * 60)), self.now)
        return PlannedEscalation(
            EscalationStatus.DECIDED,
            raised,
            self._id(TermKind.ESCALATION_ACTION, action),
            rng.choice(TO_WHOM[action]) if action in TO_WHOM else "",
            acted_at,
            rng.choice(deciders) if deciders else None,
            decided_at,
        )


# --- Loading with the ORM -----------------------------------------------------------------


def _contact(row: PlannedContact, version_id: int) -> Contact:
    return Contact(
        line_id=row.line_id,
        channel=row.channel,
        site_id=row.site_id,
        taxonomy_id=version_id,
        listener_id=row.listener_id,
        supporter_id=row.supporter_id,
        recorded_by_id=row.listener_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        duration_seconds=row.duration_seconds,
        outcome_id=row.outcome_id,
        age_band_id=row.age_band_id,
        gender_id=row.gender_id,
        grade_id=row.grade_id,
        repeat=row.repeat,
        main_concern_id=row.main_concern_id,
        relationship_id=row.relationship_id,
        setting_id=row.setting_id,
        risk_level_id=row.risk_level_id,
        risk_rank=row.risk_rank,
        summary=row.summary,
        notes=row.notes,
    )


def _save_batch(batch: list[PlannedContact], version_id: int) -> None:
    contacts = Contact.objects.bulk_create([_contact(row, version_id) for row in batch])
    if any(c.pk is None for c in contacts):  # a database that does not return ids
        ids = list(Contact.objects.order_by("-id").values_list("id", flat=True)[: len(contacts)])
        for contact, pk in zip(contacts, reversed(ids), strict=True):
            contact.pk = pk
    feeling_through = Contact.feelings.through
    topics: list[ContactTopic] = []
    feelings: list[Any] = []
    escalations = []
    for contact, row in zip(contacts, batch, strict=True):
        topics.extend(ContactTopic(contact_id=contact.pk, term_id=t) for t in row.topic_ids)
        feelings.extend(
            feeling_through(contact_id=contact.pk, taxonomyterm_id=t) for t in row.feeling_ids
        )
        if row.escalation is not None:
            e = row.escalation
            escalations.append(
                Escalation(
                    contact_id=contact.pk,
                    status=e.status,
                    raised_at=e.raised_at,
                    action_id=e.action_id,
                    to_whom=e.to_whom,
                    acted_at=e.acted_at,
                    decided_by_id=e.decided_by_id,
                    decided_at=e.decided_at,
                )
            )
    ContactTopic.objects.bulk_create(topics, batch_size=BATCH)
    feeling_through.objects.bulk_create(feelings, batch_size=BATCH)
    Escalation.objects.bulk_create(escalations, batch_size=BATCH)


def load_contacts(
    *,
    count: int = 20_000,
    days: int = 365,
    now: datetime | None = None,
    seed: int = 2026,
) -> int:
    """Create ``count`` synthetic contacts over the last ``days`` days (once).

    Does nothing if any contact exists; returns the number of contacts. Uses the current
    taxonomy version, the active lines and the listeners with an active membership.
    """
    existing = Contact.objects.count()
    if existing:
        return existing
    now = now or timezone.now()
    generator = ContactGenerator(
        version=current_version(),
        lines=list(Line.objects.filter(active=True).prefetch_related("hours", "annual_closures")),
        staff=Staff.from_db(),
        now=now,
        days=days,
        seed=seed,
    )
    version_id = generator.version.pk
    with transaction.atomic():
        batch: list[PlannedContact] = []
        for row in generator.rows(count):
            batch.append(row)
            if len(batch) >= BATCH:
                _save_batch(batch, version_id)
                batch = []
        if batch:
            _save_batch(batch, version_id)
    return Contact.objects.count()
