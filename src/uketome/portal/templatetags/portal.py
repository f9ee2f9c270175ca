"""Template helpers for the children's pages: furigana and keeping the grade in links."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from uketome.core.furigana import ruby_html_accessible
from uketome.portal.ruby import DEFAULT_GRADE, GRADE_PARAM, grade_param

register = template.Library()


@register.filter
def ruby(text: Any, grade: int | None) -> SafeString:
    """``{{ text|ruby:grade }}``: text with furigana for the child's grade (accessible
    markup: screen readers read each word once)."""
    return ruby_html_accessible(str(text), grade)


@register.simple_tag(takes_context=True)
def keep_grade(context: Any, url: str) -> str:
    """``{% keep_grade url %}``: the same address with the child's furigana choice."""
    grade = context.get("grade", DEFAULT_GRADE)
    if grade == DEFAULT_GRADE:
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}{urlencode({GRADE_PARAM: grade_param(grade)})}"


@register.simple_tag(takes_context=True)
def with_grade(context: Any, value: str) -> str:
    """``{% with_grade "3" %}``: this page's address with another furigana choice, keeping
    the rest of the query (a search, a topic)."""
    request = context.get("request")
    query = request.GET.copy() if request is not None else {}
    query[GRADE_PARAM] = value
    return "?" + query.urlencode()  # type: ignore[union-attr]
