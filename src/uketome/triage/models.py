"""The risk lexicon (危険度判定の語彙) that the secretariat edits.

Each row is one entry of ``uketome.triage.scoring``: a term, how it is matched, what risk
it signals (or, for context entries, how it shifts the risk found with it) and the
exceptions that cancel it. The shipped default (``data/lexicon.toml``) is copied here
after ``migrate`` when the table is empty; from then on the rows are the lexicon.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from uketome.core.models import TimeStampedModel


class MatchKind(models.TextChoices):
    LEMMA = "lemma", _("Words (lemmas)")
    SUBSTRING = "substring", _("Text (normalised)")
    PATTERN = "pattern", _("Pattern (regular expression)")


class Effect(models.TextChoices):
    RISK = "risk", _("Risk")
    CONTEXT = "context", _("Context (shifts the risk found with it)")


class Category(models.TextChoices):
    """What an entry signals. Risk categories first, then context categories."""

    SUICIDE = "suicide", _("Suicide")
    SELF_HARM = "self_harm", _("Self-harm")
    ABUSE = "abuse", _("Abuse")
    NEGLECT = "neglect", _("Neglect")
    SEXUAL_ABUSE = "sexual_abuse", _("Sexual abuse")
    VIOLENCE = "violence", _("Violence")
    EMERGENCY = "emergency", _("Emergency")
    BULLYING = "bullying", _("Bullying")
    RUNAWAY = "runaway", _("Running away")
    ONLINE = "online", _("Online risk")
    DISTRESS = "distress", _("Distress")
    NEGATION = "negation", _("Context: negation")
    HYPERBOLE = "hyperbole", _("Context: hyperbole")
    JOKE = "joke", _("Context: joke")
    FICTION = "fiction", _("Context: games and stories")
    PAST = "past", _("Context: in the past")
    THIRD_PARTY = "third_party", _("Context: about someone else")
    IMMEDIACY = "immediacy", _("Context: now")
    FAREWELL = "farewell", _("Context: farewell")
    PLEA = "plea", _("Context: plea for help")


RISK_CATEGORIES = tuple(c.value for c in list(Category)[:11])


class RiskLevel(models.TextChoices):
    """The helpline taxonomy's risk level codes (an entry never signals "none")."""

    WATCH = "watch", _("Watch")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class LexiconEntry(TimeStampedModel):
    term = models.CharField(
        _("term"),
        max_length=1000,
        help_text=_(
            "Words: written as a child might (死にたい), or slots separated by spaces with "
            "alternatives separated by | (触る|さわる れる). Text: found anywhere, width, case "
            "and kana folded. Pattern: a regular expression on the folded text and on its "
            "hiragana reading."
        ),
    )
    name = models.CharField(
        _("name"),
        max_length=100,
        blank=True,
        help_text=_("A short name shown to listeners when the entry matches (default: the term)."),
    )
    kind = models.CharField(
        _("match"), max_length=20, choices=MatchKind.choices, default=MatchKind.LEMMA
    )
    effect = models.CharField(_("effect"), max_length=20, choices=Effect.choices, default="risk")
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    level = models.CharField(
        _("level"),
        max_length=20,
        choices=RiskLevel.choices,
        default=RiskLevel.WATCH,
        help_text=_("Risk entries: the level a match signals."),
    )
    weight = models.PositiveSmallIntegerField(
        _("weight"),
        default=5,
        validators=[MaxValueValidator(24)],
        help_text=_("Risk entries: evidence points within the level (0-24)."),
    )
    shift = models.SmallIntegerField(
        _("shift"),
        default=0,
        validators=[MinValueValidator(-3), MaxValueValidator(3)],
        help_text=_("Context entries: levels added to the risk found with it (-3 to 3)."),
    )
    applies_to = models.JSONField(
        _("applies to"),
        default=list,
        blank=True,
        help_text=_("Context entries: the risk categories it shifts (none ticked: all)."),
    )
    exceptions = models.TextField(
        _("exceptions"),
        blank=True,
        help_text=_(
            "One regular expression per line. When one is found in the message, "
            "the entry is ignored (死ぬ: ほど)."
        ),
    )
    note = models.TextField(_("note"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("risk lexicon entry")
        verbose_name_plural = _("risk lexicon")
        ordering = ["effect", "category", "term"]
        constraints = [
            models.UniqueConstraint(fields=["term", "kind", "category"], name="triage_entry_once"),
            models.CheckConstraint(
                condition=models.Q(kind__in=MatchKind.values), name="triage_entry_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(effect__in=Effect.values), name="triage_entry_effect_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.name or self.term}"

    def exception_list(self) -> list[str]:
        return [line.strip() for line in self.exceptions.splitlines() if line.strip()]
