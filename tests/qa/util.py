"""Helpers for the Q&A tests."""

from __future__ import annotations

from django.utils import translation


def ja(msgid: str) -> str:
    """What a children's page shows for ``msgid`` (the Japanese catalogue's text)."""
    with translation.override("ja"):
        return translation.gettext(msgid)
