"""Reading sealed text for a page: every domain's selectors read through here.

A ciphertext that does not open where it was found (moved to another row,
altered, or under a key that is gone) is never shown as if it were the text:
the page shows `UNREADABLE` in its place, and `Keyring.open` has already
written the `vault.ciphertext_rejected` audit event and an error log line
(ids only). A list page opens many patients' texts: `keyrings` loads all of
their keys in one query.
"""

from __future__ import annotations

from django.db import models

from portal.vault.crypto import Binding, CiphertextRejected, Keyring
from portal.vault.models import DataKey

UNREADABLE = "[This text cannot be shown. The portal team has been told.]"


def keyrings(patient_ids: set[int]) -> dict[int, Keyring]:
    """The keyrings of several patients in one query (a team's page shows many patients)."""
    rows: dict[int, list[DataKey]] = {pid: [] for pid in patient_ids}
    for row in DataKey.objects.filter(patient_id__in=patient_ids):
        rows[row.patient_id].append(row)
    return {pid: Keyring(pid, keys) for pid, keys in rows.items()}


def read_sealed(ring: Keyring, obj: models.Model, field: str, *, unreadable: str = UNREADABLE) -> str:
    """The text sealed in `obj.field`, or `unreadable` (the refusal is audited) if it does not open."""
    try:
        return ring.open_text(obj, field)
    except CiphertextRejected:
        return unreadable


def read_sealed_value(
    ring: Keyring, binding: Binding, sealed: bytes | memoryview, *, unreadable: str = UNREADABLE
) -> str:
    """As `read_sealed`, for a value read without its model (raw rows of a hot query)."""
    try:
        return ring.open(binding, bytes(sealed)).decode()
    except CiphertextRejected:
        return unreadable
