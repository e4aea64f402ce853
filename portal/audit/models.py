from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    """One row of the append-only audit log.

    Ids only: never a password, a code, a message or any health information.
    The row is written once, in the transaction of the change it records; its
    place in the hash chain is its `AuditSeal`, written after commit by the
    sealer (`portal.audit.log.seal_pending`).
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
    # How the acting session was signed in (a fixed code such as "password+totp" or
    # "smart_card"), on every event written by that session. Null on events written
    # outside a signed-in session, and on every row written before it existed, which
    # is why it is NULL rather than "": adding it rewrites no row of the append-only log.
    login_method = models.CharField(max_length=30, null=True, blank=True)  # noqa: DJ001

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["patient_id", "occurred_at"]),
            models.Index(fields=["actor_id", "occurred_at"]),
            models.Index(fields=["action", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome}"


class AuditSeal(models.Model):
    """One link of the hash chain, append-only like the events.

    `seq` is the chain's order: the order events were sealed, which is the order
    they committed, not their ids. `row_hash` covers the event's fields and
    `previous_hash` (the `row_hash` of seal `seq - 1`), so changing, removing,
    adding or reordering an event breaks the chain there (`manage.py audit_verify`).
    No foreign key: a seal names its event by id, and verification says when
    that event is gone.
    """

    seq = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(
        AuditEvent, on_delete=models.DO_NOTHING, db_constraint=False, related_name="seal"
    )
    previous_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"audit seal {self.seq} of event {self.event_id}"


class AuditUnsealed(models.Model):
    """An event written but not sealed yet: the sealer's work list.

    Written with the event in the same transaction (so it appears exactly when
    the event commits, whatever order transactions commit in) and removed in
    the transaction that writes the event's seal. Not part of the evidence:
    verification finds unsealed events from the events and seals themselves.
    """

    event_id = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"audit event {self.event_id} waiting for its seal"


class AuditChainHead(models.Model):
    """Where the chain ends; the one row a sealer locks, so that one sealer works at a time.

    Requests never lock it: they write events, and sealers chain them afterwards.
    """

    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit head at seal {self.last_seq} (event {self.last_event_id})"
