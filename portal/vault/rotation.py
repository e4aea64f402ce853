"""Rotation of the key-encryption key: new KEK, re-wrap every data key, retire the old.

Each data key is re-wrapped in its own short transaction, so a run killed at
any point leaves every row readable (wrapped under the old or the new KEK,
both still held). The next run finds its unfinished `KeyRotation` and carries
on; an old KEK is retired only once no data key uses it.

A data key that does not unwrap (its wrapped bytes altered, or its KEK gone
from the provider) is reported by its id and skipped; the others are still
re-wrapped. The rotation then stays unfinished, and the KEK that key names is
kept, so once the key is repaired (or its KEK restored) the next run retries
just the keys that are left and finishes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.vault.crypto import data_key_context
from portal.vault.models import DataKey, KeyRotation
from portal.vault.providers import KeyUnavailable, get_provider

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RotationReport:
    new_kek_id: str
    resumed: bool
    rewrapped: int
    retired: list[str]
    failed: list[int] = field(default_factory=list)  # ids of data keys that did not unwrap

    @property
    def finished(self) -> bool:
        return not self.failed


def rotate_kek(*, batch_size: int = 500, after_batch: Callable[[int], None] | None = None) -> RotationReport:
    """Start a rotation, or finish the one a killed run left behind."""
    provider = get_provider()
    rotation = KeyRotation.objects.filter(finished_at__isnull=True).order_by("pk").first()
    resumed = rotation is not None
    if rotation is None:
        new_kek_id = provider.create_kek()
        rotation = KeyRotation.objects.create(new_kek_id=new_kek_id)
        audit.record("vault.rotation_started", object_type="vault_keyrotation", object_id=rotation.pk)
    rewrapped, failed = _rewrap_all(rotation, batch_size=batch_size, after_batch=after_batch)
    retired = _retire_unused(rotation.new_kek_id)
    if failed:
        # Left open: the next run resumes it and retries only the keys still under an old KEK.
        return RotationReport(rotation.new_kek_id, resumed, rewrapped, retired, failed)
    with transaction.atomic():
        rotation.finished_at = timezone.now()
        rotation.retired_kek_ids = retired
        rotation.save(update_fields=["finished_at", "retired_kek_ids"])
        audit.record(
            "vault.rotation_finished",
            object_type="vault_keyrotation",
            object_id=rotation.pk,
            details={"rewrapped": rotation.rewrapped, "retired": len(retired)},
        )
    return RotationReport(rotation.new_kek_id, resumed, rewrapped, retired)


def _rewrap_all(
    rotation: KeyRotation, *, batch_size: int, after_batch: Callable[[int], None] | None
) -> tuple[int, list[int]]:
    """Re-wrap every data key not yet under the new KEK; return (how many, ids that failed)."""
    done = 0
    failed: list[int] = []
    last_pk = 0
    while True:
        batch = list(
            DataKey.objects.exclude(kek_id=rotation.new_kek_id)
            .filter(pk__gt=last_pk)
            .order_by("pk")[:batch_size]
        )
        if not batch:
            return done, failed
        for row in batch:
            try:
                done += _rewrap(row.pk, rotation)
            except KeyUnavailable:
                failed.append(row.pk)
                _report_failure(row, rotation)
        last_pk = batch[-1].pk
        if after_batch is not None:
            after_batch(done)


def _rewrap(pk: int, rotation: KeyRotation) -> int:
    """Re-wrap one data key under the new KEK in its own transaction; 1 if it was, 0 if it already was."""
    provider = get_provider()
    with transaction.atomic():
        locked = DataKey.objects.select_for_update().get(pk=pk)
        if locked.kek_id == rotation.new_kek_id:
            return 0
        context = data_key_context(locked.patient_id, locked.version)
        plain = provider.unwrap(locked.kek_id, bytes(locked.wrapped_key), context=context)
        kek_id, wrapped = provider.wrap(plain, context=context)
        if kek_id != rotation.new_kek_id:
            raise RuntimeError("the key provider's current KEK is not the one being rotated to")
        locked.kek_id, locked.wrapped_key, locked.rewrapped_at = kek_id, wrapped, timezone.now()
        locked.save(update_fields=["kek_id", "wrapped_key", "rewrapped_at"])
        KeyRotation.objects.filter(pk=rotation.pk).update(rewrapped=F("rewrapped") + 1)
    return 1


def _report_failure(row: DataKey, rotation: KeyRotation) -> None:
    logger.error(
        "vault_rotate: data key %s (patient %s, version %s) does not unwrap under %s; skipped",
        row.pk,
        row.patient_id,
        row.version,
        row.kek_id,
    )
    audit.record(
        "vault.rewrap_failed",
        outcome=AuditEvent.Outcome.FAILURE,
        patient_id=row.patient_id,
        object_type="vault_datakey",
        object_id=row.pk,
        details={"rotation": rotation.pk, "kek_id": row.kek_id[:64]},
    )


def _retire_unused(current: str) -> list[str]:
    provider = get_provider()
    retired = []
    for kek_id in provider.kek_ids():
        if kek_id != current and not DataKey.objects.filter(kek_id=kek_id).exists():
            provider.retire_kek(kek_id)
            retired.append(kek_id)
    return retired
