"""Narrative content is encrypted at rest; key rotation leaves every value readable."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from tests.testapp.models import Diary
from uketome.core.models import AuditEntry

TEXT = "おとうさんに たたかれた。学校に 行きたくない。"


def _stored(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM testapp_diary WHERE id = %s", [pk])
        return str(cursor.fetchone()[0])


def test_round_trip_and_nothing_readable_in_the_database(db: Any) -> None:
    diary = Diary.objects.create(title="a", body=TEXT)
    assert Diary.objects.get(pk=diary.pk).body == TEXT
    stored = _stored(diary.pk)
    assert TEXT not in stored
    assert "学校" not in stored
    assert stored.startswith("gAAAA")  # a Fernet token


def test_null_and_empty_survive(db: Any) -> None:
    empty = Diary.objects.create(title="empty", body="")
    none = Diary.objects.create(title="none", body=None)
    assert Diary.objects.get(pk=empty.pk).body == ""
    assert Diary.objects.get(pk=none.pk).body is None
    assert Diary.objects.filter(body__isnull=True).count() == 1


def test_encrypted_field_cannot_be_searched(db: Any) -> None:
    from django.core.exceptions import FieldError

    with pytest.raises(FieldError):
        list(Diary.objects.filter(body__contains="学校"))


def test_rotation_moves_every_value_to_the_new_key(db: Any, settings: Any) -> None:
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    diaries = [Diary.objects.create(title=str(i), body=f"{TEXT} {i}") for i in range(7)]
    Diary.objects.create(title="none", body=None)
    before = {d.pk: _stored(d.pk) for d in diaries}
    new_key = Fernet.generate_key().decode()

    with override_settings(FIELD_ENCRYPTION_KEYS=(new_key, old_key)):
        call_command("rotate_keys")
        after = {d.pk: _stored(d.pk) for d in diaries}
    assert all(before[pk] != after[pk] for pk in before)

    # The old key can now be dropped: everything opens with the new key alone.
    with override_settings(FIELD_ENCRYPTION_KEYS=(new_key,)):
        for diary in diaries:
            assert Diary.objects.get(pk=diary.pk).body == diary.body
    assert AuditEntry.objects.filter(action="keys.rotated").exists()


def test_rotation_reports_values_no_key_opens(db: Any, settings: Any) -> None:
    diary = Diary.objects.create(title="lost", body=TEXT)
    stranger = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=(stranger,)):
        with pytest.raises(CommandError, match="could not be opened"):
            call_command("rotate_keys")
    # Still readable with the right key: rotation changed nothing it could not open.
    assert Diary.objects.get(pk=diary.pk).body == TEXT
