from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    """One row of the append-only audit log.

    Ids only: never a password, a code, a message or any health information.
    `row_hash` covers this row's fields and the previous row's hash, so any
    edit or removal breaks the chain at that row (`manage.py audit_verify`).
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"

    occurred_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="User id, if known")
    patient_id = models.BigIntegerField(null=True, blank=True, help_text="Patient acted for")
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["patient_id", "occurred_at"]),
            models.Index(fields=["actor_id", "occurred_at"]),
            models.Index(fields=["action", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome}"


class AuditChainHead(models.Model):
    """The single row every writer locks to append to the chain in order."""

    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit head at {self.last_event_id}"
