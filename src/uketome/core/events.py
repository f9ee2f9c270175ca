"""Real-time events: published only after the transaction that caused them commits.

Services call ``publish_on_commit(group, event, payload)``; consumers in the group get a
message ``{"type": "uketome.event", "event": event, "payload": payload}``. The channel
layer is at-most-once: the database stays the source of truth, and pages that show live
events also load the current state from the database.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # a lost event must never undo or break the write that caused it
        logger.exception("could not publish %s to %s", message.get("event"), group)


def publish_on_commit(group: str, event: str, payload: dict[str, Any]) -> None:
    message = {"type": "uketome.event", "event": event, "payload": payload}
    transaction.on_commit(lambda: _send(group, message))


def site_supervisors_group(site_id: int | None) -> str:
    return f"supervisors.site.{site_id}" if site_id else "supervisors.network"
