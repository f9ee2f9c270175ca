"""The chat figures of the statistics and the annual report (``stats.sources``).

Requests are the chats children asked for in the period; handled, those a listener took;
gave up, those that ended while still waiting because the child left or ended it (a chat
still waiting at closing time is neither handled nor given up: it is the difference).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext as _

from uketome.chat.models import Conversation, EndReason
from uketome.stats.sources import ChatWaiting, Period, banded

GAVE_UP = (EndReason.CHILD, EndReason.LEFT, EndReason.INACTIVE)


def _bands() -> list[tuple[str, timedelta]]:
    """Upper bounds of the waiting-time bands (the last one is open)."""
    return [
        (_("under 1 minute"), timedelta(minutes=1)),
        (_("1 to 5 minutes"), timedelta(minutes=5)),
        (_("5 to 10 minutes"), timedelta(minutes=10)),
        (_("10 to 30 minutes"), timedelta(minutes=30)),
        (_("30 minutes or more"), timedelta.max),
    ]


def waiting_times(period: Period) -> ChatWaiting:
    chats = Conversation.objects.filter(started_at__gte=period.start, started_at__lt=period.end)
    if period.line_id:
        chats = chats.filter(line_id=period.line_id)
    if period.site_id:  # a chat belongs to a site once a listener there takes it
        chats = chats.filter(site_id=period.site_id)
    waited: list[timedelta] = []
    gave_up_after: list[timedelta] = []
    requests = 0
    for started, claimed, ended, reason in chats.values_list(
        "started_at", "claimed_at", "ended_at", "end_reason"
    ).iterator():
        requests += 1
        if claimed is not None:
            waited.append(claimed - started)
        elif ended is not None and reason in GAVE_UP:
            gave_up_after.append(ended - started)
    return ChatWaiting(
        requests=requests,
        handled=len(waited),
        gave_up=len(gave_up_after),
        waiting=banded(waited, _bands()),
        gave_up_after=banded(gave_up_after, _bands()),
    )
