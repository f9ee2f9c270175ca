"""The resource directory (相談できるところ): where else a child (or an adult) can get help.

Support organizations and public services, by municipality (市町) and topic, edited by the
secretariat in the admin and shown on the children's portal.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from django.core.validators import RegexValidator, URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from uketome.core.models import TimeStampedModel


class Topic(models.TextChoices):
    """What a resource helps with. A small fixed list: a new topic is a code change."""

    ANYTHING = "anything", _("Anything")
    CHILD_GUIDANCE = "child_guidance", _("Child guidance centres")
    ABUSE = "abuse", _("Abuse")
    VIOLENCE = "violence", _("Violence")
    BULLYING = "bullying", _("Bullying")
    SCHOOL = "school", _("School and studies")
    NOT_GOING_TO_SCHOOL = "not_going_to_school", _("Not going to school")
    FREE_SCHOOL = "free_school", _("Free schools")
    SEXUAL_VIOLENCE = "sexual_violence", _("Sexual violence")
    LGBTQ = "lgbtq", _("LGBTQ and gender")
    MIND = "mind", _("Feelings and worries")
    SUICIDE = "suicide", _("Wanting to die")
    ADDICTION = "addiction", _("Addiction")
    PLACE_TO_BE = "place_to_be", _("Places to be and children's cafeterias")
    RIGHTS = "rights", _("Children's rights")
    POLICE = "police", _("Police")
    HEALTH = "health", _("Health and hospitals")


class ForWhom(models.TextChoices):
    CHILDREN = "children", _("For children")
    ADULTS = "adults", _("For adults")
    BOTH = "both", _("For children and adults")


# Hiragana (with the long vowel mark, the middle dot and spaces): the reading for search.
KANA_ONLY = RegexValidator(r"^[\u3041-\u309f\u30fc\u30fb ]*$", _("Write the reading in hiragana."))
# Digits and the marks phone numbers use: 0120-0-78310, 189, #9110, +81 59 000 0000.
PHONE_CHARS = RegexValidator(
    r"^[0-9+#*][0-9#*\- ()]*$", _("Write the phone number with digits and hyphens.")
)
WEB_ADDRESS = URLValidator(schemes=["http", "https"])


class Resource(TimeStampedModel):
    """A place to talk to (相談できるところ): an organization or a public line.

    ``municipality`` is the 市町 it serves; blank means the whole prefecture or all of
    Japan. ``search`` holds ``uketome.core.text.search_key`` of the name, reading,
    description and topics, written by ``services.resource_reindex``, so that a
    substring search is the same on SQLite and PostgreSQL (``search__icontains``).
    """

    name = models.CharField(_("name"), max_length=200)
    kana = models.CharField(
        _("reading (hiragana)"),
        max_length=200,
        blank=True,
        validators=[KANA_ONLY],
        help_text=_("How the name is read, in hiragana. Used for search."),
    )
    municipality = models.CharField(
        _("municipality"),
        max_length=40,
        blank=True,
        db_index=True,
        help_text=_("The city or town it serves. Leave blank for the whole prefecture or Japan."),
    )
    phone = models.CharField(_("phone number"), max_length=30, blank=True, validators=[PHONE_CHARS])
    phone_hours = models.CharField(
        _("when the phone is answered"),
        max_length=200,
        blank=True,
        help_text=_('In easy Japanese, for example "every day, 24 hours".'),
    )
    url = models.URLField(_("web address"), max_length=300, blank=True, validators=[WEB_ADDRESS])
    description = models.TextField(
        _("description"),
        max_length=400,
        blank=True,
        help_text=_("One or two short sentences in easy Japanese."),
    )
    for_whom = models.CharField(
        _("for whom"), max_length=20, choices=ForWhom.choices, default=ForWhom.CHILDREN
    )
    published = models.BooleanField(
        _("published"),
        default=False,
        help_text=_("Shown on the children's pages only when ticked."),
    )
    sort_order = models.PositiveSmallIntegerField(
        _("order"), default=100, help_text=_("Smaller numbers come first.")
    )
    checked_on = models.DateField(
        _("details checked on"),
        null=True,
        blank=True,
        help_text=_("When the secretariat last confirmed the phone number and hours."),
    )
    search = models.TextField(_("search key"), blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("place to talk to")
        verbose_name_plural = _("places to talk to")
        ordering = ["sort_order", "kana", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "municipality"],
                name="resource_unique_name_in_place",
                violation_error_message=_("This place is already in the list."),
            ),
            models.CheckConstraint(
                condition=models.Q(for_whom__in=ForWhom.values),
                name="resource_for_whom_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["published", "sort_order"], name="resource_published_order"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.municipality})" if self.municipality else self.name

    @property
    def tel_uri(self) -> str:
        """``tel:`` link for the phone number ("#9110" becomes ``tel:%239110``)."""
        dialled = "".join(
            ch for ch in unicodedata.normalize("NFKC", self.phone) if ch in "0123456789+#*"
        )
        return f"tel:{quote(dialled, safe='+*')}" if dialled else ""

    @property
    def safe_url(self) -> str:
        """The web address, only if it is an http(s) address (never ``javascript:``)."""
        return self.url if self.url.lower().startswith(("https://", "http://")) else ""

    @property
    def display_url(self) -> str:
        """The web address as a child reads it: without ``https://`` and the last slash."""
        shown = self.safe_url
        for scheme in ("https://", "http://"):
            if shown.lower().startswith(scheme):
                shown = shown[len(scheme) :]
        return shown.rstrip("/")

    def topic_codes(self) -> list[str]:
        """The topics in the fixed order of ``Topic`` (uses prefetched links)."""
        codes = {link.topic for link in self.topic_links.all()}
        return [code for code in Topic.values if code in codes]

    def topic_labels(self) -> list[str]:
        labels = dict(Topic.choices)
        return [str(labels[code]) for code in self.topic_codes()]


class ResourceTopic(models.Model):
    """One topic of a resource (the many-to-many between resources and ``Topic``)."""

    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="topic_links", verbose_name=_("place")
    )
    topic = models.CharField(_("topic"), max_length=30, choices=Topic.choices)

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        constraints = [
            models.UniqueConstraint(fields=["resource", "topic"], name="resource_topic_once"),
            models.CheckConstraint(
                condition=models.Q(topic__in=Topic.values), name="resource_topic_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["topic", "resource"], name="resource_topic_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id}: {self.topic}"
