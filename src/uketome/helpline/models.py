"""Lines (窓口), their hours and closures, the taxonomy, and contact records (相談記録)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from uketome.core.fields import EncryptedTextField
from uketome.core.models import TimeStampedModel
from uketome.network.models import Site


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    MAIL = "mail", _("Mail")
    LINE_APP = "line_app", _("LINE")
    QA = "qa", _("Q&A")
    IN_PERSON = "in_person", _("In person")
    OTHER = "other", _("Other")


class IdentityPolicy(models.TextChoices):
    ANONYMOUS = "anonymous", _("Always anonymous")
    CONSENT = "consent", _("Anonymous; the child may agree to be identified")
    IDENTIFIED = "identified", _("Identified adults")


class Audience(models.TextChoices):
    CHILDREN = "children", _("Children")
    FOSTER_PARENTS = "foster_parents", _("Foster parents")


class Line(TimeStampedModel):
    """A line (相談窓口) children or foster parents reach: its channels, hours and rules."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("code"), max_length=40, unique=True)
    channels = models.JSONField(_("channels"), default=list)
    audience = models.CharField(
        _("for"), max_length=20, choices=Audience.choices, default=Audience.CHILDREN
    )
    phone_number = models.CharField(_("phone number"), max_length=30, blank=True)
    always_open = models.BooleanField(
        _("open at any time"), default=False, help_text=_("Mail and Q&A: received at any time.")
    )
    identity_policy = models.CharField(_("identity"), max_length=20, choices=IdentityPolicy.choices)
    retention_days = models.PositiveIntegerField(_("keep narrative content (days)"), default=365)
    reply_target_hours = models.PositiveIntegerField(
        _("reply within (hours)"), null=True, blank=True
    )
    escalation_limit_minutes = models.PositiveIntegerField(
        _("escalation decided within (minutes)"), default=30
    )
    description = models.TextField(_("description"), blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("line")
        verbose_name_plural = _("lines")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    """A weekly opening period. ``closes`` at or before ``opens`` runs past midnight."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["line", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekday__gte=0, weekday__lte=6), name="hours_weekday_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class ClosureReason(models.TextChoices):
    YEAR_END = "year_end", _("Year-end holidays")
    HOLIDAY = "holiday", _("Holiday")
    STAFF_SHORTAGE = "staff_shortage", _("Staff shortage")
    OTHER = "other", _("Other")


class AnnualClosure(models.Model):
    """A closure every year between two calendar days, e.g. 29 Dec - 3 Jan (inclusive)."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="annual_closures")
    from_month = models.PositiveSmallIntegerField(_("from month"))
    from_day = models.PositiveSmallIntegerField(_("from day"))
    to_month = models.PositiveSmallIntegerField(_("to month"))
    to_day = models.PositiveSmallIntegerField(_("to day"))
    reason = models.CharField(
        _("reason"), max_length=20, choices=ClosureReason.choices, default=ClosureReason.YEAR_END
    )

    class Meta:
        verbose_name = _("annual closure")
        verbose_name_plural = _("annual closures")

    def __str__(self) -> str:
        return f"{self.from_month}/{self.from_day}-{self.to_month}/{self.to_day}"


class Closure(TimeStampedModel):
    """A one-off closure (staff shortage, a holiday) from ``starts_at`` to ``ends_at``."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="closures")
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=20, choices=ClosureReason.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="closure_ends_after"
            )
        ]
        indexes = [models.Index(fields=["line", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.line}: {self.starts_at:%Y-%m-%d %H:%M} - {self.ends_at:%Y-%m-%d %H:%M}"


# --- Taxonomy ----------------------------------------------------------------------------


class TermKind(models.TextChoices):
    TOPIC = "topic", _("Topic")
    MAIN_CONCERN = "main_concern", _("Main concern")
    FEELING = "feeling", _("Feeling")
    RELATIONSHIP = "relationship", _("Relationship")
    SETTING = "setting", _("Setting")
    AGE_BAND = "age_band", _("Age band")
    GENDER = "gender", _("Gender")
    GRADE = "grade", _("Grade")
    OUTCOME = "outcome", _("Outcome")
    RISK_LEVEL = "risk_level", _("Risk level")
    ESCALATION_ACTION = "escalation_action", _("Escalation action")
    CHI_CATEGORY = "chi_category", _("CHI category")


class TaxonomyVersion(models.Model):
    """One version of the classification, loaded from ``helpline/data/taxonomy/*.toml``.

    Contacts keep the version they were recorded with; a new version adds new terms and
    never rewrites old contacts. ``TaxonomyTerm.current`` maps an old term to its term in
    the newest version, so reports can count across versions.
    """

    version = models.CharField(_("version"), max_length=20, unique=True)
    title = models.CharField(_("title"), max_length=200)
    loaded_at = models.DateTimeField(_("loaded"), auto_now_add=True)
    is_current = models.BooleanField(_("current"), default=False)

    class Meta:
        verbose_name = _("taxonomy version")
        verbose_name_plural = _("taxonomy versions")
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=models.Q(is_current=True), name="one_current"
            )
        ]

    def __str__(self) -> str:
        return self.version


class TaxonomyTerm(models.Model):
    version = models.ForeignKey(TaxonomyVersion, on_delete=models.PROTECT, related_name="terms")
    kind = models.CharField(max_length=20, choices=TermKind.choices)
    code = models.CharField(max_length=60)
    label = models.CharField(max_length=100)
    label_en = models.CharField(max_length=100, blank=True)
    kana = models.CharField(max_length=100, blank=True)
    search = models.CharField(max_length=300, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    attrs = models.JSONField(default=dict, blank=True)
    chi = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    current = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The term in the newest version that this term counts as.",
    )

    class Meta:
        verbose_name = _("taxonomy term")
        verbose_name_plural = _("taxonomy terms")
        ordering = ["version", "kind", "sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "kind", "code"], name="term_unique")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def rank(self) -> int:
        return int(self.attrs.get("rank", 0))


# --- Contacts ----------------------------------------------------------------------------


class RepeatContact(models.TextChoices):
    FIRST = "first", _("First time")
    REPEAT = "repeat", _("Has called before")
    UNKNOWN = "unknown", _("Unknown")


def term_field(kind: str, verbose: Any, **extra: Any) -> models.ForeignKey[Any, Any]:
    """An optional link to a taxonomy term of ``kind`` (used by every app that counts)."""
    return models.ForeignKey(
        TaxonomyTerm,
        verbose_name=verbose,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": kind},
        null=True,
        blank=True,
        **extra,
    )


class Contact(TimeStampedModel):
    """One contact (相談記録) on any line and channel.

    Statistical fields are in clear; ``summary``, ``notes`` and ``identification`` are
    encrypted and removed after the line's retention period (``narrative_removed_at``).
    Written only through ``helpline.services``; read through ``helpline.selectors``.
    """

    line = models.ForeignKey(Line, verbose_name=_("line"), on_delete=models.PROTECT)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, null=True, blank=True
    )
    taxonomy = models.ForeignKey(
        TaxonomyVersion, verbose_name=_("taxonomy version"), on_delete=models.PROTECT
    )
    listener = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("listener"),
        on_delete=models.PROTECT,
        related_name="contacts_taken",
        null=True,
        blank=True,
    )
    supporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("supporter"),
        on_delete=models.PROTECT,
        related_name="contacts_supported",
        null=True,
        blank=True,
    )
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    outcome = term_field(TermKind.OUTCOME, _("outcome"))
    age_band = term_field(TermKind.AGE_BAND, _("age band"))
    gender = term_field(TermKind.GENDER, _("gender"))
    grade = term_field(TermKind.GRADE, _("grade"))
    repeat = models.CharField(
        _("repeat contact"),
        max_length=10,
        choices=RepeatContact.choices,
        default=RepeatContact.UNKNOWN,
    )
    topics: models.ManyToManyField[TaxonomyTerm, ContactTopic] = models.ManyToManyField(
        TaxonomyTerm,
        verbose_name=_("topics"),
        through="ContactTopic",
        related_name="contacts_by_topic",
        blank=True,
    )
    feelings = models.ManyToManyField(
        TaxonomyTerm,
        verbose_name=_("feelings"),
        related_name="contacts_by_feeling",
        blank=True,
        limit_choices_to={"kind": TermKind.FEELING},
    )
    main_concern = term_field(TermKind.MAIN_CONCERN, _("main concern"))
    relationship = term_field(TermKind.RELATIONSHIP, _("relationship"))
    setting = term_field(TermKind.SETTING, _("setting"))
    risk_level = term_field(TermKind.RISK_LEVEL, _("risk level"))
    risk_rank = models.PositiveSmallIntegerField(_("risk rank"), default=0)
    summary = EncryptedTextField(_("summary"), blank=True, null=True)
    notes = EncryptedTextField(_("notes"), blank=True, null=True)
    identified_with_consent = models.BooleanField(_("identified with consent"), default=False)
    identification = EncryptedTextField(_("identification"), blank=True, null=True)
    narrative_removed_at = models.DateTimeField(_("narrative removed"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    client_ref = models.UUIDField(
        _("form reference"), null=True, blank=True, unique=True, editable=False
    )
    source_kind = models.CharField(_("source"), max_length=20, blank=True)
    source_id = models.BigIntegerField(_("source id"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True)
                | models.Q(ended_at__gte=models.F("started_at")),
                name="contact_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["-started_at", "-id"], name="contact_recent"),
            models.Index(fields=["site", "-started_at", "-id"], name="contact_site_recent"),
            models.Index(fields=["listener", "-started_at", "-id"], name="contact_listener_recent"),
            models.Index(
                fields=["supporter", "-started_at", "-id"], name="contact_supporter_recent"
            ),
            models.Index(fields=["line", "-started_at", "-id"], name="contact_line_recent"),
            models.Index(fields=["risk_rank", "-started_at", "-id"], name="contact_risk_recent"),
            models.Index(
                fields=["line", "narrative_removed_at", "started_at"], name="contact_retention"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.line} {self.started_at:%Y-%m-%d %H:%M}"


class ContactTopic(models.Model):
    """A topic (事柄) of a contact; indexed by topic for the list filter and statistics."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE)
    term = models.ForeignKey(TaxonomyTerm, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "term"], name="contact_topic_unique")
        ]
        indexes = [models.Index(fields=["term", "contact"], name="topic_contacts")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.term_id}"


class EscalationStatus(models.TextChoices):
    OPEN = "open", _("Waiting for a decision")
    DECIDED = "decided", _("Decided")


class Escalation(TimeStampedModel):
    """A contact at high or urgent risk, waiting for or carrying a supervisor's decision."""

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="escalation")
    status = models.CharField(
        _("status"), max_length=10, choices=EscalationStatus.choices, default=EscalationStatus.OPEN
    )
    raised_at = models.DateTimeField(_("raised"))
    action = term_field(TermKind.ESCALATION_ACTION, _("action"))
    to_whom = models.CharField(_("to whom"), max_length=200, blank=True)
    acted_at = models.DateTimeField(_("when acted"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = EncryptedTextField(_("decision note"), blank=True, null=True)

    objects: ClassVar[models.Manager[Escalation]]

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        indexes = [models.Index(fields=["status", "raised_at"])]

    def __str__(self) -> str:
        return f"{self.contact} ({self.get_status_display()})"
