"""Figures that come from outside the contact records: the seams for other apps.

Contact records give contacts per channel (phone calls answered, chats handled, letters
answered). Three figures of the annual report need data that other parts of the system
record, and each has one function here:

- ``phone_attempts(period)`` - calls that reached the line, answered or not (発信/アクセス):
  needs the telephony provider's call log.
- ``chat_waiting_times(period)`` - chat requests, chats handled, children who gave up
  waiting and the distribution of waiting times: needs the chat app's queue.
- ``mail_reply_times(period)`` - letters received and the time to the reply sent: needs the
  mail app.

Each looks for a provider function in the app that owns the data (``uketome.chat.stats.
waiting_times``, ``uketome.mail.stats.reply_times``, ``uketome.telephony.stats.
attempts``) and calls it with the ``Period``. Until such a module exists the answer is
None and the report says "not yet recorded" - never a guessed number. A provider returns
the dataclass below; the report suppresses its counts like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any

PROVIDERS = {
    "phone_attempts": ("uketome.telephony.stats", "attempts"),
    "chat_waiting_times": ("uketome.chat.stats", "waiting_times"),
    "mail_reply_times": ("uketome.mail.stats", "reply_times"),
}


@dataclass(frozen=True)
class Period:
    """[start, end) in Tokyo time, optionally one line and one site."""

    start: datetime
    end: datetime
    line_id: int | None = None
    site_id: int | None = None


@dataclass
class Distribution:
    """Counts per band, e.g. waiting times: [("1分未満", 120), ("1-5分", 80), ...]."""

    bands: list[tuple[str, int]] = field(default_factory=list)


def banded(values: Iterable[timedelta], bands: list[tuple[str, timedelta]]) -> Distribution:
    """Count ``values`` into ``bands``: (label, upper bound, exclusive), the last open."""
    counts = [0] * len(bands)
    for value in values:
        counts[next(i for i, (_label, upper) in enumerate(bands) if value < upper)] += 1
    return Distribution(
        bands=[(label, n) for (label, _upper), n in zip(bands, counts, strict=True)]
    )


@dataclass
class ChatWaiting:
    requests: int  # children who asked for a chat
    handled: int  # chats a listener took
    gave_up: int  # children who left the queue before being taken
    waiting: Distribution  # waiting time of the chats handled
    gave_up_after: Distribution  # how long those who gave up had waited


@dataclass
class MailReplies:
    received: int
    replied: int
    reply_time: Distribution  # time from receipt to the reply being sent
    over_target: int  # replies later than the line's reply target


def _provider(name: str) -> Callable[[Period], Any] | None:
    module_name, attribute = PROVIDERS[name]
    try:
        module = import_module(module_name)
    except ImportError:
        return None
    found = getattr(module, attribute, None)
    return found if callable(found) else None


def phone_attempts(period: Period) -> int | None:
    """Calls that reached the line (answered or not), or None when not recorded."""
    provider = _provider("phone_attempts")
    return provider(period) if provider else None


def chat_waiting_times(period: Period) -> ChatWaiting | None:
    """Chat requests, chats handled, gave-ups and waiting times, or None."""
    provider = _provider("chat_waiting_times")
    return provider(period) if provider else None


def mail_reply_times(period: Period) -> MailReplies | None:
    """Letters received and replied to, with reply times, or None."""
    provider = _provider("mail_reply_times")
    return provider(period) if provider else None
