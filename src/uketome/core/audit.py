"""The audit log: append an entry (inside the caller's transaction) and verify the chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from uketome.core.models import AuditChainHead, AuditEntry

GENESIS = "0" * 64


def _canonical(entry: AuditEntry) -> str:
    return json.dumps(
        {
            "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_id": entry.actor_id,
            "actor_label": entry.actor_label,
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": entry.target_id,
            "reason": entry.reason,
            "data": entry.data,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(f"{entry.prev_hash}\n{_canonical(entry)}".encode()).hexdigest()


def _actor_fields(actor: Any) -> tuple[int | None, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, "system" if actor is None else "anonymous"
    return actor.pk, actor.get_username()


def _locked_head() -> AuditChainHead:
    """The chain head, locked until the transaction ends. Made by a migration; made again
    here if it is missing (a database flushed by tests), which verification then reports
    as a break if entries existed before."""
    head, _created = AuditChainHead.objects.select_for_update().get_or_create(
        id=1, defaults={"last_hash": GENESIS, "count": 0}
    )
    return head


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. ``action`` is a namespaced code such as ``"contact.read"``.

    Runs in the caller's transaction when there is one, so an action and its audit entry
    are committed together or not at all.
    """
    actor_id, actor_label = _actor_fields(actor)
    with transaction.atomic():
        head = _locked_head()
        entry = AuditEntry(
            at=timezone.now().astimezone(UTC),
            actor_id=actor_id,
            actor_label=actor_label[:200],
            action=action,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            reason=reason[:500],
            data=data or {},
            prev_hash=head.last_hash,
        )
        # Store what the database will give back, so the hash is over the stored values.
        entry.data = json.loads(json.dumps(entry.data, ensure_ascii=False, default=str))
        entry.hash = entry_hash(entry)
        entry.save()
        head.last_hash = entry.hash
        head.count += 1
        head.save(update_fields=["last_hash", "count"])
    return entry


@dataclass
class VerifyResult:
    checked: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _entries() -> Iterator[AuditEntry]:
    return AuditEntry.objects.order_by("id").iterator(chunk_size=2000)


def audit_verify() -> VerifyResult:
    """Walk the whole chain; report every entry that was changed or removed."""
    result = VerifyResult()
    expected_prev = GENESIS
    previous_id = 0
    for entry in _entries():
        if entry.prev_hash != expected_prev:
            result.problems.append(
                f"entry {entry.id}: does not follow entry {previous_id} "
                "(an entry between them was removed or changed)"
            )
        if entry_hash(entry) != entry.hash:
            result.problems.append(f"entry {entry.id}: its contents were changed")
        expected_prev = entry.hash
        previous_id = entry.id
        result.checked += 1
    head = AuditChainHead.objects.filter(id=1).first() or AuditChainHead(last_hash=GENESIS, count=0)
    if head.last_hash != expected_prev or head.count != result.checked:
        result.problems.append(
            f"the log ends at entry {previous_id} with {result.checked} entries, but "
            f"{head.count} were written: the newest entries were removed or changed"
        )
    result.head_hash = head.last_hash
    return result
