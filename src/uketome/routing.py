"""WebSocket routes. Each app adds its consumers here (live chat, queues, alerts).

Only the staff's sockets read cookies: the alerts through Channels' ``AuthMiddlewareStack``,
the chat console through the cookies alone (its consumer checks the session on the chat's
database thread, see ``chat.consumers._staff_identity``). A child's socket is opened by its
conversation's token alone, carries no session and no user, and reads no cookie of
whoever else uses the same browser.
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.sessions import CookieMiddleware
from django.urls import path

from uketome.chat.consumers import ChildChatConsumer, StaffChatConsumer
from uketome.helpline.consumers import StaffAlertsConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/staff/alerts/", AuthMiddlewareStack(StaffAlertsConsumer.as_asgi())),
    path("ws/chat/", ChildChatConsumer.as_asgi()),
    path("ws/staff/chat/", CookieMiddleware(StaffChatConsumer.as_asgi())),
]
