"""WebSocket routes. Each app adds its consumers here (live chat, queues, alerts)."""

from __future__ import annotations

from typing import Any

from django.urls import path

from uketome.chat.consumers import ChildChatConsumer, StaffChatConsumer
from uketome.helpline.consumers import StaffAlertsConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/staff/alerts/", StaffAlertsConsumer.as_asgi()),
    path("ws/chat/", ChildChatConsumer.as_asgi()),
    path("ws/staff/chat/", StaffChatConsumer.as_asgi()),
]
