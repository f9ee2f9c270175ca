"""Fixtures for the portal content tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from uketome.content import services
from uketome.content.models import Page


@pytest.fixture
def make_page(db: Any) -> Callable[..., Page]:
    """make_page(slug="hello", published=False, **fields) -> a page saved by the system."""

    def make(slug: str = "hello", *, published: bool = False, **fields: Any) -> Page:
        values: dict[str, Any] = {
            "title": "はじめての ページ",
            "body": "学校の ことを 話そう。",
        }
        values.update(fields)
        page = services.page_save(actor=None, slug=slug, **values)
        if published:
            page = services.page_publish(actor=None, page=page)
        return page

    return make
