from __future__ import annotations

from django.db import models
from django.utils import timezone

from portal.clinics.models import Patient


class DataKey(models.Model):
    """One patient's AES-256-GCM data key, stored only wrapped by a key-encryption key.

    `kek_id` names the key-encryption key (in the key provider) that wrapped it;
    rotation re-wraps the row under a new one and never changes the data key
    itself, so no ciphertext has to be rewritten.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="data_keys")
    version = models.PositiveIntegerField()
    wrapped_key = models.BinaryField()
    kek_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    rewrapped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "version"], name="vault_datakey_patient_version_unique"
            ),
        ]
        indexes = [models.Index(fields=["kek_id", "id"])]

    def __str__(self) -> str:
        return f"data key {self.version} of patient {self.patient_id}"


class KeyRotation(models.Model):
    """A run of `vault_rotate`: a new key-encryption key and the re-wrap of every data key.

    An unfinished row is resumed by the next run instead of starting another.
    """

    new_kek_id = models.CharField(max_length=64, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    rewrapped = models.PositiveIntegerField(default=0)
    retired_kek_ids = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"rotation to {self.new_kek_id}"
