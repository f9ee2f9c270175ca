"""Reading uketome's configuration from ``UKETOME_*`` environment variables.

Every value is parsed and checked here, so that a wrong value stops start-up with one
line that names the variable (``ConfigError``). ``settings.py`` only assembles Django
settings from the result.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

PREFIX = "UKETOME_"

# Values that are placeholders, never real secrets.
_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "insecure", "django-insecure"}


class ConfigError(ImproperlyConfigured):
    """A configuration value is missing or wrong. ``str()`` is one line naming the variable."""

    def __init__(self, var: str, problem: str) -> None:
        self.var = PREFIX + var
        self.problem = problem
        super().__init__(f"{self.var}: {problem}")


@dataclass(frozen=True)
class Config:
    debug: bool
    data_dir: Path
    secret_key: str
    field_encryption_keys: tuple[str, ...]
    database: dict[str, Any]
    redis_url: str | None
    allowed_hosts: list[str]
    email: dict[str, Any]
    https: bool
    idle_minutes: int
    quick_exit_url: str
    demo_secrets_file: Path | None


def _env() -> environ.Env:
    env = environ.Env()
    env.prefix = PREFIX
    return env


def _raw(var: str) -> str | None:
    return os.environ.get(PREFIX + var)


def _bool(var: str, default: bool) -> bool:
    raw = _raw(var)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(var, f"expected true or false, got {raw!r}")


def _int(var: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = _raw(var)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(var, f"expected a whole number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(var, f"must be between {minimum} and {maximum}, got {value}")
    return value


def _check_fernet_keys(var: str, keys: list[str]) -> tuple[str, ...]:
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ConfigError(
                var,
                f"key {position} is not a valid Fernet key (32 url-safe base64-encoded bytes; "
                "make one with `uketome generate-key`)",
            ) from None
    return tuple(keys)


def _demo_secrets(data_dir: Path) -> tuple[Path, dict[str, Any]]:
    """Secrets that demo mode keeps for itself under the data directory (made once)."""
    path = data_dir / "demo-secrets.json"
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError("DATA_DIR", f"cannot read {path}: {exc}") from None
        return path, stored
    stored = {
        "secret_key": secrets.token_urlsafe(50),
        "field_encryption_keys": [Fernet.generate_key().decode()],
    }
    path.touch(mode=0o600)
    path.write_text(json.dumps(stored, indent=2))
    return path, stored


def _database(env: environ.Env, data_dir: Path) -> dict[str, Any]:
    raw = _raw("DATABASE_URL")
    if not raw:
        db: dict[str, Any] = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(data_dir / "uketome.sqlite3"),
        }
    else:
        scheme = urlparse(raw).scheme
        if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
            raise ConfigError(
                "DATABASE_URL",
                f"unsupported database {scheme!r}; use sqlite:///PATH or postgres://USER@HOST/NAME",
            )
        try:
            db = env.db_url("DATABASE_URL")
        except Exception as exc:  # django-environ raises several kinds
            raise ConfigError("DATABASE_URL", f"cannot parse: {exc}") from None
        if not db.get("NAME"):
            raise ConfigError("DATABASE_URL", "names no database")
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db["OPTIONS"] = {
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    else:
        # Under ASGI each request runs on a thread of its own: a connection kept "for reuse"
        # stays with the finished thread (Django: disable persistent connections with ASGI).
        db.setdefault("CONN_MAX_AGE", 0)
        db.setdefault("CONN_HEALTH_CHECKS", True)
        db.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    db["ATOMIC_REQUESTS"] = False
    return db


def load() -> Config:
    env = _env()
    debug = _bool("DEBUG", False)

    data_dir_raw = _raw("DATA_DIR") or "data"
    data_dir = Path(data_dir_raw).expanduser().resolve()
    try:
        (data_dir / "static").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError("DATA_DIR", f"cannot create {data_dir}: {exc.strerror}") from None
    if not os.access(data_dir, os.W_OK):
        raise ConfigError("DATA_DIR", f"{data_dir} is not writable")

    secret_key = (_raw("SECRET_KEY") or "").strip()
    keys_raw = (_raw("FIELD_ENCRYPTION_KEYS") or "").strip()
    keys = [k.strip() for k in keys_raw.split(",") if k.strip()]
    demo_file: Path | None = None
    if debug and (not secret_key or not keys):
        demo_file, stored = _demo_secrets(data_dir)
        secret_key = secret_key or stored["secret_key"]
        keys = keys or list(stored["field_encryption_keys"])
    if secret_key.lower() in _PLACEHOLDER_SECRETS or len(secret_key) < 32:
        raise ConfigError(
            "SECRET_KEY",
            "set a real secret of at least 32 characters (required when UKETOME_DEBUG is off)",
        )
    if not keys:
        raise ConfigError(
            "FIELD_ENCRYPTION_KEYS",
            "set at least one Fernet key, newest first, comma-separated "
            "(required when UKETOME_DEBUG is off; make one with `uketome generate-key`)",
        )
    field_keys = _check_fernet_keys("FIELD_ENCRYPTION_KEYS", keys)

    redis_url = (_raw("REDIS_URL") or "").strip() or None
    if redis_url and urlparse(redis_url).scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError("REDIS_URL", f"expected redis://HOST:PORT/DB, got {redis_url!r}")

    hosts_raw = _raw("ALLOWED_HOSTS")
    if hosts_raw is None or not hosts_raw.strip():
        allowed_hosts = ["127.0.0.1", "localhost", "[::1]"]
    else:
        allowed_hosts = [h.strip() for h in hosts_raw.split(",") if h.strip()]
        for host in allowed_hosts:
            if "/" in host or " " in host:
                raise ConfigError(
                    "ALLOWED_HOSTS", f"expected host names separated by commas, got {host!r}"
                )

    email_raw = _raw("EMAIL_URL")
    if not email_raw:
        email: dict[str, Any] = {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    else:
        try:
            email = env.email_url("EMAIL_URL")
        except Exception as exc:
            raise ConfigError("EMAIL_URL", f"cannot parse: {exc}") from None
        if not email.get("EMAIL_BACKEND"):
            raise ConfigError("EMAIL_URL", f"unknown scheme in {email_raw!r}")

    quick_exit_url = (_raw("QUICK_EXIT_URL") or "https://www.google.co.jp/").strip()
    parsed = urlparse(quick_exit_url)
    if parsed.scheme != "https" or not parsed.netloc:
        raise ConfigError("QUICK_EXIT_URL", f"expected an https:// address, got {quick_exit_url!r}")

    return Config(
        debug=debug,
        data_dir=data_dir,
        secret_key=secret_key,
        field_encryption_keys=field_keys,
        database=_database(env, data_dir),
        redis_url=redis_url,
        allowed_hosts=allowed_hosts,
        email=email,
        https=_bool("HTTPS", not debug),
        idle_minutes=_int("IDLE_MINUTES", 30, minimum=2, maximum=24 * 60),
        quick_exit_url=quick_exit_url,
        demo_secrets_file=demo_file,
    )
