"""Live alerts for supervisors: a contact at high or urgent risk, pushed at once."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from uketome.accounts.roles import Role
from uketome.core.events import site_supervisors_group
from uketome.core.permissions import forget_scope, scope_of


@database_sync_to_async
def _alert_groups(user: Any, session: Any) -> list[str]:
    """The groups a signed-in, two-factor-verified supervisor listens to (else none)."""
    if not user.is_authenticated or not user.is_active:
        return []
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    if device is None or device.user_id != user.pk or not device.confirmed:
        return []
    forget_scope(user)
    sites = scope_of(user).sites_for([Role.SUPERVISOR])
    if not sites:
        return []
    return [site_supervisors_group(site) for site in sorted(sites)] + [site_supervisors_group(None)]


class StaffAlertsConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = await _alert_groups(self.scope.get("user"), self.scope.get("session"))
        if not self.groups_joined:
            await self.close(code=4403)
            return
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def uketome_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": message["event"], **message["payload"]})
