"""Re-encrypting every encrypted value under the newest key (``uketome rotate-keys``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connection, models, transaction

from uketome.core import crypto
from uketome.core.audit import audit_record
from uketome.core.fields import EncryptedTextField

BATCH = 500


@dataclass
class RotationResult:
    rotated: dict[str, int] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.rotated.values())


def encrypted_columns() -> Iterator[tuple[type[models.Model], EncryptedTextField]]:
    for model in apps.get_models():
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, EncryptedTextField):
                yield model, model_field


def rotate_all(*, actor: Any = None, dry_run: bool = False) -> RotationResult:
    """Re-encrypt each stored token with the first key. Tokens are read and written raw,
    so the plaintext never leaves this function."""
    result = RotationResult()
    quote = connection.ops.quote_name
    for model, model_field in encrypted_columns():
        table = quote(model._meta.db_table)
        pk = quote(model._meta.pk.column)
        column = quote(model_field.column)
        label = f"{model._meta.label}.{model_field.name}"
        count = 0
        last_pk: Any = None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                where = f"{column} IS NOT NULL" + (f" AND {pk} > %s" if last_pk is not None else "")
                cursor.execute(
                    f"SELECT {pk}, {column} FROM {table} WHERE {where} "  # noqa: S608
                    f"ORDER BY {pk} LIMIT {BATCH}",
                    [last_pk] if last_pk is not None else [],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                for row_pk, token in rows:
                    last_pk = row_pk
                    try:
                        new_token = crypto.rotate(token)
                    except crypto.InvalidToken:
                        result.unreadable.append(f"{label} #{row_pk}")
                        continue
                    if not dry_run:
                        cursor.execute(
                            f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                            [new_token, row_pk],
                        )
                    count += 1
        result.rotated[label] = count
    if not dry_run:
        audit_record(
            actor=actor,
            action="keys.rotated",
            data={"rotated": result.rotated, "unreadable": len(result.unreadable)},
        )
    return result
