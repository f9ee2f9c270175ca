"""WebSocket routes. Each app adds its consumers here (live chat, queues, alerts)."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
