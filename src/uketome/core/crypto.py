"""Encryption of narrative content at rest (cryptography's MultiFernet).

Keys come from ``UKETOME_FIELD_ENCRYPTION_KEYS`` (newest first). The first key encrypts;
every key decrypts. Rotation: put a new key first, run ``uketome rotate-keys``, then drop
the old key. See docs/operations.md.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = ["InvalidToken", "decrypt", "encrypt", "multifernet", "rotate"]


@lru_cache(maxsize=1)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def multifernet() -> MultiFernet:
    return _multifernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(text: str) -> str:
    return multifernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    return multifernet().decrypt(token.encode("ascii")).decode("utf-8")


def rotate(token: str) -> str:
    """Re-encrypt a token under the newest key (raises InvalidToken if no key opens it)."""
    return multifernet().rotate(token.encode("ascii")).decode("ascii")


@receiver(setting_changed)
def _keys_changed(*, setting: str, **kwargs: object) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _multifernet.cache_clear()
