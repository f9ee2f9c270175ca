"""Live chat (オンライン相談): conversations, their messages, and each chat line's settings.

A ``Conversation`` starts when a child asks to chat and waits in its line's queue until a
listener claims it (one conditional UPDATE). Every stored item of a conversation - the
child's and the listener's messages, system messages, private notes, whispers - is a
``Message`` with the next per-conversation sequence number ``seq``; an item a client sent
carries the client's id, unique per conversation, so a retried send is stored once.
Message text is encrypted at rest and removed by retention; the conversation row keeps
the statistical facts (times, pre-chat answers, risk level).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from uketome.core.fields import EncryptedTextField
from uketome.core.models import TimeStampedModel
from uketome.helpline.models import Line
from uketome.network.models import Site


class ChatSettings(models.Model):
    """The chat rules of one line (per-line settings; defaults follow Childline practice)."""

    line = models.OneToOneField(Line, on_delete=models.CASCADE, related_name="chat_settings")
    warn_after_seconds = models.PositiveIntegerField(
        _("warn after (seconds without a message from the child)"), default=240
    )
    end_after_seconds = models.PositiveIntegerField(
        _("end after (seconds without a message from the child)"), default=300
    )
    max_per_listener = models.PositiveSmallIntegerField(_("chats at once per listener"), default=2)
    flood_messages = models.PositiveSmallIntegerField(_("messages allowed"), default=10)
    flood_seconds = models.PositiveSmallIntegerField(_("in seconds"), default=10)

    class Meta:
        verbose_name = _("chat settings")
        verbose_name_plural = _("chat settings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_after_seconds__gt=models.F("warn_after_seconds")),
                name="chat_end_after_warning",
            )
        ]

    def __str__(self) -> str:
        return str(self.line)

    @property
    def flood(self) -> tuple[int, int]:
        """(messages, seconds): how many messages each side of a chat may send in how long."""
        return self.flood_messages, self.flood_seconds


class CannedPhrase(models.Model):
    """A phrase a listener inserts with one click (定型文), per line."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="canned_phrases")
    text = models.CharField(_("text"), max_length=500)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("canned phrase")
        verbose_name_plural = _("canned phrases")
        ordering = ["line", "sort_order", "id"]

    def __str__(self) -> str:
        return self.text[:40]


class Status(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    ACTIVE = "active", _("In conversation")
    ENDED = "ended", _("Ended")


class EndReason(models.TextChoices):
    CHILD = "child", _("The child ended it")
    LISTENER = "listener", _("The listener ended it")
    INACTIVE = "inactive", _("No message from the child")
    CLOSING = "closing", _("Closing time")
    LEFT = "left", _("The child left while waiting")


RISK_RANKS = {"none": 0, "watch": 1, "high": 2, "urgent": 3}
RISK_CODES = {rank: code for code, rank in RISK_RANKS.items()}


class Conversation(TimeStampedModel):
    """One chat (チャット相談) between a child and a listener.

    ``token_hash`` is the SHA-256 of the child's secret token: the token itself lives only
    in the child's page. Nothing about the child's device is stored.
    """

    line = models.ForeignKey(Line, verbose_name=_("line"), on_delete=models.PROTECT)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    started_at = models.DateTimeField(_("asked to chat"))
    claimed_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    end_reason = models.CharField(
        _("how it ended"), max_length=10, choices=EndReason.choices, blank=True
    )
    listener = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("listener"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="chats_taken",
    )
    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, null=True, blank=True
    )
    age_band = models.CharField(_("age band"), max_length=40, blank=True)
    gender = models.CharField(_("gender"), max_length=40, blank=True)
    topics = models.JSONField(_("topics"), default=list, blank=True)
    risk_rank = models.PositiveSmallIntegerField(_("risk rank"), default=0)
    last_seq = models.PositiveIntegerField(default=0)
    last_child_message_at = models.DateTimeField(null=True, blank=True)
    # The inactivity clock also restarts when the listener writes: the child is not quiet
    # while waiting for an answer (services.QUIET_SINCE).
    last_listener_message_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    closing_warned_at = models.DateTimeField(null=True, blank=True)
    child_away_since = models.DateTimeField(null=True, blank=True)
    # How many times the child's page has said hello (each socket remembers its number:
    # only the newest one's closing marks the child away).
    child_hellos = models.PositiveIntegerField(default=0)
    # Since when the sweep has seen no console of the listener open (services.sweep: after
    # LISTENER_GONE_SECONDS the chat goes back to the queue).
    listener_away_since = models.DateTimeField(null=True, blank=True)
    # When the current listener took it from the queue; ``claimed_at`` stays the first
    # answer (waiting times, the contact record) when a chat went back to the queue.
    taken_at = models.DateTimeField(null=True, blank=True)
    transcript_removed_at = models.DateTimeField(_("transcript removed"), null=True, blank=True)

    objects: ClassVar[models.Manager[Conversation]]

    class Meta:
        verbose_name = _("chat conversation")
        verbose_name_plural = _("chat conversations")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="active") | models.Q(listener__isnull=False),
                name="chat_active_has_listener",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-risk_rank", "started_at"], name="chat_queue"),
            models.Index(fields=["listener", "status"], name="chat_listener_load"),
            models.Index(
                fields=["line", "transcript_removed_at", "ended_at"], name="chat_retention"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.line} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def risk(self) -> str:
        return RISK_CODES.get(self.risk_rank, "none")


class Sender(models.TextChoices):
    CHILD = "child", _("Child")
    LISTENER = "listener", _("Listener")
    SYSTEM = "system", _("System")
    NOTE = "note", _("Private note")
    WHISPER = "whisper", _("Whisper")


# What the child's side may see; everything else is for staff only.
CHILD_VISIBLE = (Sender.CHILD, Sender.LISTENER, Sender.SYSTEM)


class Message(models.Model):
    """One item of a conversation, numbered by ``seq`` (1, 2, ...) within it."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveIntegerField()
    # NULL: an item no client sent (a system message); unique per conversation otherwise.
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    sender = models.CharField(max_length=10, choices=Sender.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    text = EncryptedTextField(null=True, blank=True)
    # NULL: a child's message not assessed yet (it is delivered first, scored right after).
    risk_rank = models.PositiveSmallIntegerField(default=0, null=True)
    created_at = models.DateTimeField()

    objects: ClassVar[models.Manager[Message]]

    class Meta:
        verbose_name = _("chat message")
        verbose_name_plural = _("chat messages")
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chat_message_seq"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=models.Q(client_id__isnull=False),
                name="chat_message_client_id",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(risk_rank__isnull=True),
                name="chat_message_unassessed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq}"
