"""Demo data and the corner's name (configurable: the name of the Q&A line)."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext as _

from uketome.helpline.models import Line
from uketome.qa import pii, services
from uketome.qa.demo import ITEMS, load_qa
from uketome.qa.models import PublishedAnswer, Status


def test_demo_publishes_its_items_the_real_way_once(db: Any) -> None:
    first = load_qa()
    again = load_qa()
    assert len(first) == len(ITEMS) >= 5
    assert [p.pk for p in first] == [p.pk for p in again]
    assert PublishedAnswer.objects.count() == len(ITEMS)
    for item in PublishedAnswer.objects.select_related("question"):
        assert item.question.status == Status.PUBLISHED
        assert item.question_text != item.question.body  # the rewrite, not the child's text
        assert pii.kinds_found(item.question_text) == []
        assert pii.kinds_found(item.answer_text) == []
    html = Client().get(reverse("qa:index") + "?g=none").content.decode()
    assert "MIEちゃんに聞いてみよう" in html
    assert ITEMS[-1].rewrite in html


def test_corner_name_is_the_lines_name_not_fixed(db: Any) -> None:
    assert services.corner_name() == _("Ask us")  # no Q&A line: a generic name
    Line.objects.create(
        name="ほっとQ&A", slug="hot-qa", channels=["qa"], identity_policy="anonymous"
    )
    assert services.corner_name() == "ほっとQ&A"
    html = Client().get(reverse("qa:index") + "?g=none").content.decode()
    assert "ほっとQ&amp;A" in html
    assert "MIE" not in html
