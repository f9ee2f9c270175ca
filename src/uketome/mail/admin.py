from django.contrib import admin

from uketome.core.admin_site import AuditedModelAdmin
from uketome.mail.models import MailSettings


@admin.register(MailSettings)
class MailSettingsAdmin(AuditedModelAdmin):
    """Per line: the sites that answer letters, who approves, notifications (letters
    themselves are read only on the staff pages, where every read is audited)."""

    list_display = ["line", "supporters_may_approve", "notification_allowed"]
    filter_horizontal = ["sites"]
