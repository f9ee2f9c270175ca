"""What /healthz reports: the database and the channel layer."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return "down"
    except Exception:  # a driver error that is not a DatabaseError (e.g. bad socket)
        return "down"
    return "ok"


def channel_layer_status() -> str:
    """``ok`` for Redis answering a PING, ``in-process`` without Redis, ``down`` otherwise."""
    if not settings.REDIS_URL:
        return "in-process"
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        return "ok" if client.ping() else "down"
    except redis.RedisError:
        return "down"
    finally:
        client.close()
