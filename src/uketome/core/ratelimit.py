"""Counting tries in short windows, for floods and guessing (wrong secrets, spam).

Counters live in the cache only (per process by default, shared through Redis when
``UKETOME_REDIS_URL`` is set) and expire with their window. A visitor's address is only
ever used as a keyed hash inside such a counter: it is never written to the database or
stored with anything a child sends.

    if not ratelimit.allow("mail-send", ratelimit.visitor(request), limit=5, window=600):
        ...  # answer with a kind "please wait" message
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def _digest(value: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def visitor(request: HttpRequest) -> str:
    """A short-lived, keyed stand-in for the visitor's address (never stored)."""
    return _digest("addr:" + (request.META.get("REMOTE_ADDR") or "-"))


def _key(bucket: str, key: str, window: int, now: float) -> str:
    return f"uketome:rl:{bucket}:{_digest(key)}:{int(now // window)}"


def allow(bucket: str, key: str, *, limit: int, window: int) -> bool:
    """Count one try for ``key`` in ``bucket``; False once more than ``limit`` tries fell
    in the current window of ``window`` seconds."""
    name = _key(bucket, key, window, time.time())
    cache.add(name, 0, timeout=window + 1)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=window + 1)
        count = 1
    return count <= limit


def count(bucket: str, key: str, *, window: int) -> int:
    """Tries counted so far in the current window (without counting one more)."""
    return int(cache.get(_key(bucket, key, window, time.time())) or 0)


def reset(bucket: str, key: str, *, window: int) -> None:
    cache.delete(_key(bucket, key, window, time.time()))
