"""The public Q&A corner (e.g. MIEちゃんに聞いてみよう): children's questions, answers
drafted by listeners and approved by supervisors, and what is published.

A ``Question`` (質問) is private: the child's own words stay encrypted and are never
published. A listener writes an anonymised rewrite of the question and a kind answer;
the personal-data check flags what may identify someone (``PersonalDataFlag``); a
supervisor approves, and only then a ``PublishedAnswer`` (公開Q&A) is made with the
rewrite and the answer. The public pages read ``PublishedAnswer`` only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from uketome.core.fields import EncryptedTextField
from uketome.core.models import TimeStampedModel


class Category(models.TextChoices):
    """What a question is about: a short list children can browse (not the helpline's
    statistical taxonomy, which is finer and written for staff)."""

    FRIENDS = "friends", _("Friends")
    SCHOOL = "school", _("School and studies")
    FAMILY = "family", _("Family")
    LOVE = "love", _("Love and crushes")
    BODY = "body", _("Body and growing up")
    FEELINGS = "feelings", _("Feelings")
    INTERNET = "internet", _("Phones and the internet")
    FUTURE = "future", _("The future")
    OTHER = "other", _("Other things")


class Status(models.TextChoices):
    NEW = "new", _("Not started")
    DRAFT = "draft", _("Being drafted")
    REVIEW = "review", _("Waiting for approval")
    RETURNED = "returned", _("Returned to the listener")
    PUBLISHED = "published", _("Published")
    CLOSED = "closed", _("Not to be published")


class RiskLevel(models.TextChoices):
    """The levels of ``uketome.triage.assess``."""

    NONE = "none", _("No risk")
    WATCH = "watch", _("Watch")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


RISK_RANK = {RiskLevel.NONE: 0, RiskLevel.WATCH: 1, RiskLevel.HIGH: 2, RiskLevel.URGENT: 3}
ALERT_LEVELS = frozenset({RiskLevel.HIGH, RiskLevel.URGENT})


class Question(TimeStampedModel):
    """A child's question (質問) and its way to publication.

    ``body`` is what the child wrote (encrypted, never published, read by staff only
    through ``selectors.question_for_reading``, which audits). ``rewrite`` and ``answer``
    are the listener's draft (encrypted until published). Nothing about the child's device
    is stored.
    """

    body = EncryptedTextField(_("question as sent"), null=True, blank=True)
    category_hint = models.CharField(
        _("topic chosen by the child"), max_length=20, choices=Category.choices, blank=True
    )
    received_at = models.DateTimeField(_("received"), db_index=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW, db_index=True
    )
    risk_level = models.CharField(
        _("risk"), max_length=10, choices=RiskLevel.choices, default=RiskLevel.NONE
    )
    risk_rank = models.PositiveSmallIntegerField(_("risk rank"), default=0)
    risk_score = models.IntegerField(_("risk score"), default=0)
    risk_categories = models.JSONField(_("risk categories"), default=list, blank=True)
    risk_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("risk reviewed by"),
    )
    risk_reviewed_at = models.DateTimeField(_("risk reviewed"), null=True, blank=True)
    risk_note = EncryptedTextField(_("what was done about the risk"), null=True, blank=True)

    category = models.CharField(_("category"), max_length=20, choices=Category.choices, blank=True)
    rewrite = EncryptedTextField(_("question as published"), null=True, blank=True)
    answer = EncryptedTextField(_("answer"), null=True, blank=True)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("drafted by"),
    )
    drafted_at = models.DateTimeField(_("drafted"), null=True, blank=True)
    review_comment = EncryptedTextField(_("comment from the approver"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved or returned by"),
    )
    decided_at = models.DateTimeField(_("approved or returned"), null=True, blank=True)
    narrative_removed_at = models.DateTimeField(_("narrative removed"), null=True, blank=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["-risk_rank", "received_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values), name="qa_question_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(risk_level__in=RiskLevel.values),
                name="qa_question_risk_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "risk_rank", "received_at"], name="qa_question_queue"),
        ]

    def __str__(self) -> str:
        return f"Q{self.pk}"

    @property
    def at_risk(self) -> bool:
        return self.risk_level in ALERT_LEVELS


class FlagState(models.TextChoices):
    OPEN = "open", _("To resolve")
    NOT_PERSONAL = "not_personal", _("Marked not personal")


class PersonalDataFlag(models.Model):
    """Something in the draft that may identify someone (個人情報の疑い).

    Made by ``services.qa_draft_save`` from ``pii.find_personal_data``; a flag whose words
    are edited out of the draft disappears; an approver may mark it "not personal"
    (audited). Publishing waits until no flag is open.
    """

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="flags")
    field = models.CharField(_("where"), max_length=20)
    kind = models.CharField(_("kind"), max_length=20)
    found = EncryptedTextField(_("words found"))
    state = models.CharField(
        _("state"), max_length=20, choices=FlagState.choices, default=FlagState.OPEN
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("personal-data flag")
        verbose_name_plural = _("personal-data flags")
        ordering = ["question", "field", "kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=FlagState.values), name="qa_flag_state_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.question_id}: {self.field}/{self.kind}"


class PublishedAnswer(TimeStampedModel):
    """A published question and answer (公開Q&A): the anonymised rewrite, never the
    child's own words. ``search`` holds ``core.text.search_key`` of the texts (one per
    line) so a substring search is the same on SQLite and PostgreSQL. ``view_count``
    counts page views and nothing about who read."""

    question = models.OneToOneField(
        Question, on_delete=models.PROTECT, related_name="published", verbose_name=_("question")
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    question_text = models.TextField(_("question"))
    answer_text = models.TextField(_("answer"))
    published_at = models.DateTimeField(_("published"), db_index=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    view_count = models.PositiveIntegerField(_("views"), default=0)
    search = models.TextField(_("search key"), blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("published Q&A")
        verbose_name_plural = _("published Q&As")
        ordering = ["-published_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(category__in=Category.values), name="qa_published_category"
            )
        ]
        indexes = [
            models.Index(fields=["category", "published_at"], name="qa_published_category_idx"),
            models.Index(fields=["view_count"], name="qa_published_views"),
        ]

    def __str__(self) -> str:
        return f"Q&A {self.pk}"
