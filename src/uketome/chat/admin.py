from django.contrib import admin

from uketome.chat.models import CannedPhrase, ChatSettings
from uketome.core.admin_site import AuditedModelAdmin


@admin.register(ChatSettings)
class ChatSettingsAdmin(AuditedModelAdmin):
    """Per chat line: inactivity warning and end, chats at once, flood limit.
    Conversations are not here: transcripts are read only through the staff pages."""

    list_display = [
        "line",
        "warn_after_seconds",
        "end_after_seconds",
        "max_per_listener",
        "flood_messages",
        "flood_seconds",
    ]


@admin.register(CannedPhrase)
class CannedPhraseAdmin(AuditedModelAdmin):
    list_display = ["text", "line", "sort_order"]
    list_filter = ["line"]
