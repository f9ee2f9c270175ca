"""Fixtures for the resource directory tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from uketome.resources.models import Resource
from uketome.resources.services import resource_put


@pytest.fixture
def put(db: Any) -> Callable[..., Resource]:
    """put(name, **fields) -> a resource, published unless told otherwise."""

    def make(name: str, **fields: Any) -> Resource:
        fields.setdefault("published", True)
        resource, _changed = resource_put(actor=None, name=name, **fields)
        return resource

    return make
