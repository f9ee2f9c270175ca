"""Configuration: a wrong value stops start-up with one clear line naming the variable."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from uketome import config

GOOD_KEY = Fernet.generate_key().decode()
GOOD_SECRET = "s" * 40


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("UKETOME_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("UKETOME_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("UKETOME_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("UKETOME_FIELD_ENCRYPTION_KEYS", GOOD_KEY)
    return monkeypatch


def test_good_production_configuration_loads(env: pytest.MonkeyPatch) -> None:
    env.setenv("UKETOME_DATABASE_URL", "postgres://uketome@db.internal:5432/uketome")
    env.setenv("UKETOME_REDIS_URL", "redis://cache.internal:6379/0")
    env.setenv("UKETOME_ALLOWED_HOSTS", "soudan.example.jp, www.soudan.example.jp")
    loaded = config.load()
    assert loaded.debug is False
    assert loaded.database["ENGINE"] == "django.db.backends.postgresql"
    assert loaded.database["NAME"] == "uketome"
    assert loaded.allowed_hosts == ["soudan.example.jp", "www.soudan.example.jp"]
    assert loaded.https is True


def test_sqlite_in_the_data_directory_by_default(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    loaded = config.load()
    assert loaded.database["NAME"] == str(tmp_path / "data" / "uketome.sqlite3")
    assert "journal_mode=WAL" in loaded.database["OPTIONS"]["init_command"]


@pytest.mark.parametrize(
    ("var", "value", "says"),
    [
        ("DEBUG", "maybe", "true or false"),
        ("FIELD_ENCRYPTION_KEYS", "not-a-key", "not a valid Fernet key"),
        ("FIELD_ENCRYPTION_KEYS", f"{GOOD_KEY},short", "key 2 is not a valid"),
        ("SECRET_KEY", "changeme", "real secret"),
        ("DATABASE_URL", "mysql://root@localhost/db", "unsupported database"),
        ("REDIS_URL", "http://localhost:6379", "redis://"),
        ("IDLE_MINUTES", "half an hour", "whole number"),
        ("IDLE_MINUTES", "0", "between"),
        ("EMAIL_URL", "pigeon://coop", "EMAIL_URL"),
        ("ALLOWED_HOSTS", "https://example.jp/", "host names"),
    ],
)
def test_wrong_value_names_the_variable(
    env: pytest.MonkeyPatch, var: str, value: str, says: str
) -> None:
    env.setenv(f"UKETOME_{var}", value)
    with pytest.raises(config.ConfigError) as caught:
        config.load()
    message = str(caught.value)
    assert message.startswith(f"UKETOME_{var}: ")
    assert says in message
    assert "\n" not in message


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS"])
def test_production_refuses_to_start_without_real_secrets(
    env: pytest.MonkeyPatch, missing: str
) -> None:
    env.delenv(f"UKETOME_{missing}")
    with pytest.raises(config.ConfigError, match=f"^UKETOME_{missing}: "):
        config.load()


def test_demo_mode_makes_its_own_secrets_once_and_keeps_them(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.delenv("UKETOME_SECRET_KEY")
    env.delenv("UKETOME_FIELD_ENCRYPTION_KEYS")
    env.setenv("UKETOME_DEBUG", "true")
    first = config.load()
    second = config.load()
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 32
    assert first.field_encryption_keys == second.field_encryption_keys
    Fernet(first.field_encryption_keys[0].encode())
    secrets_file = tmp_path / "data" / "demo-secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600


def _run_cli(
    args: list[str], extra_env: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("UKETOME_")}
    run_env.pop("DJANGO_SETTINGS_MODULE", None)
    run_env.update({"UKETOME_DATA_DIR": str(tmp_path / "cli-data"), **extra_env})
    return subprocess.run(
        [sys.executable, "-m", "uketome", *args],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_stops_with_one_line_naming_the_variable(tmp_path: Path) -> None:
    result = _run_cli(
        ["serve", "--port", "1"],
        {"UKETOME_SECRET_KEY": GOOD_SECRET, "UKETOME_FIELD_ENCRYPTION_KEYS": "oops"},
        tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("uketome: UKETOME_FIELD_ENCRYPTION_KEYS: ")
    assert "Traceback" not in result.stderr


def test_cli_refuses_production_start_without_secret(tmp_path: Path) -> None:
    result = _run_cli(["check-config"], {}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("uketome: UKETOME_SECRET_KEY: ")


def test_check_config_reports_a_good_setup(tmp_path: Path) -> None:
    result = _run_cli(
        ["check-config"],
        {"UKETOME_DEBUG": "true"},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "database status: ok" in result.stdout
    assert "channel layer  : in-process" in result.stdout
