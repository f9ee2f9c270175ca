"""Children's mail (子ども専用メール): anonymous letters and the replies to them.

A child writes a letter and gets a letter number and a secret (あいことば). With both, the
child reads the approved replies and writes again in the same thread (``LetterThread``).
Letters and replies are encrypted at rest; the secret is kept only as an argon2 hash.
Written only through ``mail.services``; read through ``mail.selectors``.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from uketome.core.fields import EncryptedTextField
from uketome.core.models import TimeStampedModel
from uketome.helpline.models import (
    Contact,
    Line,
    TaxonomyTerm,
    TaxonomyVersion,
    TermKind,
    term_field,
)
from uketome.network.models import Site


class MailSettings(TimeStampedModel):
    """How one line answers letters: which sites answer, who approves, notifications."""

    line = models.OneToOneField(
        Line, verbose_name=_("line"), on_delete=models.CASCADE, related_name="mail_settings"
    )
    sites = models.ManyToManyField(
        Site,
        verbose_name=_("sites that answer letters"),
        related_name="mail_settings",
        blank=True,
        help_text=_("Listeners, supporters and supervisors of these sites see the letters."),
    )
    supporters_may_approve = models.BooleanField(
        _("supporters may approve replies"),
        default=False,
        help_text=_("Otherwise only supervisors approve replies."),
    )
    notification_allowed = models.BooleanField(
        _("children may leave an address for a notification"),
        default=False,
        help_text=_(
            "Off by default. Warning: a notification can show someone else on a shared "
            "phone or computer that the child wrote to us. The address is stored encrypted "
            "and deleted when the thread ends."
        ),
    )

    class Meta:
        verbose_name = _("mail settings")
        verbose_name_plural = _("mail settings")

    def __str__(self) -> str:
        return str(self.line)


class ThreadStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for a reply")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Finished")


class LetterThread(TimeStampedModel):
    """One child's letters and the replies to them (手紙のやりとり), found by its number."""

    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="letter_threads"
    )
    number = models.CharField(_("letter number"), max_length=12, unique=True)
    secret_hash = models.CharField(max_length=200, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=ThreadStatus.choices, default=ThreadStatus.WAITING
    )
    taxonomy = models.ForeignKey(
        TaxonomyVersion, verbose_name=_("taxonomy version"), on_delete=models.PROTECT
    )
    age_band = term_field(TermKind.AGE_BAND, _("age band"))
    gender = term_field(TermKind.GENDER, _("gender"))
    topics = models.ManyToManyField(
        TaxonomyTerm,
        verbose_name=_("topics"),
        related_name="letter_threads",
        blank=True,
        limit_choices_to={"kind": TermKind.TOPIC},
    )
    risk_level = term_field(TermKind.RISK_LEVEL, _("risk level"))
    risk_rank = models.PositiveSmallIntegerField(_("risk rank"), default=0)
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    claimed_at = models.DateTimeField(_("taken"), null=True, blank=True)
    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, null=True, blank=True
    )
    notify_address = EncryptedTextField(_("notification address"), null=True, blank=True)
    failed_tries = models.PositiveSmallIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("finished"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("finished by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact record"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )

    objects: ClassVar[models.Manager[LetterThread]]

    class Meta:
        verbose_name = _("letter thread")
        verbose_name_plural = _("letter threads")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="waiting") | models.Q(waiting_since__isnull=False),
                name="mail_waiting_has_since",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="closed") | models.Q(closed_at__isnull=False),
                name="mail_closed_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "line", "-risk_rank", "waiting_since"], name="mail_queue"
            ),
            models.Index(fields=["claimed_by", "status"], name="mail_claimed"),
        ]

    def __str__(self) -> str:
        return f"{self.display_number} ({self.line})"

    @property
    def display_number(self) -> str:
        return f"{self.number[:4]}-{self.number[4:]}"


class Author(models.TextChoices):
    CHILD = "child", _("Child")
    STAFF = "staff", _("Staff")


class ReplyState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Waiting for approval")
    RETURNED = "returned", _("Returned with a comment")
    APPROVED = "approved", _("Approved")


OPEN_REPLY_STATES = (ReplyState.DRAFT, ReplyState.SUBMITTED, ReplyState.RETURNED)


class Letter(TimeStampedModel):
    """One letter in a thread: the child's, or a reply by staff (shown to the child only
    once approved)."""

    thread = models.ForeignKey(LetterThread, on_delete=models.CASCADE, related_name="letters")
    author = models.CharField(_("from"), max_length=10, choices=Author.choices)
    body = EncryptedTextField(_("letter"), null=True, blank=True)
    client_ref = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # A child's letter: what the risk triage found.
    risk_level = term_field(TermKind.RISK_LEVEL, _("risk level"))
    risk_score = models.PositiveIntegerField(_("risk score"), default=0)
    risk_categories = models.JSONField(_("risk categories"), default=list, blank=True)
    # A reply: its way through approval.
    state = models.CharField(_("state"), max_length=10, choices=ReplyState.choices, blank=True)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("written by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    submitted_at = models.DateTimeField(_("sent for approval"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    review_comment = EncryptedTextField(_("comment"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)

    objects: ClassVar[models.Manager[Letter]]

    class Meta:
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(author="child", state="")
                | models.Q(author="staff", state__in=[s.value for s in ReplyState]),
                name="mail_state_matches_author",
            ),
            models.CheckConstraint(
                condition=models.Q(state="approved", approved_at__isnull=False)
                | (~models.Q(state="approved") & models.Q(approved_at__isnull=True)),
                name="mail_approved_has_time",
            ),
            models.UniqueConstraint(
                fields=["thread"],
                condition=models.Q(state__in=["draft", "submitted", "returned"]),
                name="mail_one_open_reply",
            ),
        ]
        indexes = [models.Index(fields=["state", "submitted_at"], name="mail_reply_state")]

    def __str__(self) -> str:
        return f"{self.thread_id}/{self.pk} {self.author}"

    @property
    def shown_at(self) -> datetime:
        """When the child could first see this letter."""
        return self.approved_at or self.created_at
