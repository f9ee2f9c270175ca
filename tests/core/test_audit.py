"""The audit log is append-only and any tampering is found by audit-verify."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from uketome.core.audit import audit_record, audit_verify
from uketome.core.models import AppendOnlyError, AuditEntry


@pytest.fixture
def log(db: Any, personas: dict[str, Any]) -> list[AuditEntry]:
    reader = personas["supervisor_suzuka"]
    return [
        audit_record(actor=reader, action="contact.read", reason="review", data={"n": i})
        for i in range(5)
    ]


def _raw(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_entries_record_who_what_when_why(log: list[AuditEntry]) -> None:
    entry = AuditEntry.objects.get(pk=log[0].pk)
    assert entry.actor_label == "supervisor_suzuka"
    assert entry.action == "contact.read"
    assert entry.reason == "review"
    assert entry.at is not None
    assert entry.prev_hash == AuditEntry.objects.filter(pk__lt=entry.pk).last().hash  # type: ignore[union-attr]


def test_intact_log_verifies(log: list[AuditEntry]) -> None:
    result = audit_verify()
    assert result.ok, result.problems
    assert result.checked == AuditEntry.objects.count()


def test_edited_entry_is_detected(log: list[AuditEntry]) -> None:
    table = AuditEntry._meta.db_table
    _raw(f"UPDATE {table} SET reason = %s WHERE id = %s", ["nothing to see", log[2].pk])  # noqa: S608
    result = audit_verify()
    assert not result.ok
    assert any(f"entry {log[2].pk}: its contents were changed" in p for p in result.problems)


def test_edited_entry_with_recomputed_hash_breaks_the_chain(log: list[AuditEntry]) -> None:
    """Rewriting an entry and its own hash still breaks the link from the next entry."""
    from uketome.core.audit import entry_hash

    forged = AuditEntry.objects.get(pk=log[1].pk)
    forged.actor_label = "someone else"
    table = AuditEntry._meta.db_table
    _raw(
        f"UPDATE {table} SET actor_label = %s, hash = %s WHERE id = %s",  # noqa: S608
        [forged.actor_label, entry_hash(forged), forged.pk],
    )
    result = audit_verify()
    assert not result.ok
    assert any(f"entry {log[2].pk}: does not follow" in p for p in result.problems)


def test_deleted_entry_is_detected(log: list[AuditEntry]) -> None:
    _raw(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [log[2].pk])  # noqa: S608
    result = audit_verify()
    assert not result.ok
    assert any(f"entry {log[3].pk}: does not follow" in p for p in result.problems)


def test_deleted_newest_entry_is_detected(log: list[AuditEntry]) -> None:
    _raw(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [log[-1].pk])  # noqa: S608
    result = audit_verify()
    assert not result.ok
    assert any("newest entries were removed" in p for p in result.problems)


def test_audit_verify_command_fails_on_tampering(log: list[AuditEntry]) -> None:
    call_command("audit_verify")  # intact: no error
    _raw(f"UPDATE {AuditEntry._meta.db_table} SET action = %s WHERE id = %s", ["x", log[0].pk])  # noqa: S608
    with pytest.raises(CommandError, match="tampered"):
        call_command("audit_verify")


def test_orm_refuses_to_change_or_delete(log: list[AuditEntry]) -> None:
    entry = AuditEntry.objects.get(pk=log[0].pk)
    entry.reason = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="changed")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert audit_verify().ok
