"""Writing and verifying the hash-chained audit log."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models.sql import InsertQuery
from django.utils import timezone

from portal.audit.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64
_ALLOWED_DETAIL_TYPES = (int, bool, type(None))


def _canonical(event: AuditEvent) -> bytes:
    fields = {
        "occurred_at": event.occurred_at.isoformat(),
        "actor_id": event.actor_id,
        "patient_id": event.patient_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "client_address": _hashed_address(event.client_address),
        "details": event.details,
        "previous_hash": event.previous_hash,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def _check_details(details: Mapping[str, Any]) -> dict[str, Any]:
    # Details hold ids, counts and fixed codes; free text is where health data leaks.
    for key, value in details.items():
        if isinstance(value, str):
            if len(value) > 64 or any(ch.isspace() for ch in value):
                raise ValueError(f"audit detail {key!r} must be an id or a code, not text")
        elif isinstance(value, list):
            if not all(isinstance(item, int) for item in value):
                raise ValueError(f"audit detail {key!r} may only list ids")
        elif not isinstance(value, _ALLOWED_DETAIL_TYPES):
            raise ValueError(f"audit detail {key!r} has a type the log does not take")
    return dict(details)


def _check_address(address: str | None) -> str | None:
    """The address as the event keeps it: an IPv4 client seen by a dual-stack server as
    ::ffff:a.b.c.d is kept as a.b.c.d; a zone (fe80::1%eth0) is refused (no database keeps it)."""
    if address is None:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError("audit client address must be an IP address") from None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            raise ValueError("audit client address must not name a zone")
        ip = ip.ipv4_mapped or ip
    return str(ip)


def _hashed_address(address: str | None) -> str | None:
    # Each database spells some IPv6 addresses its own way (PostgreSQL writes ::1.2.3.4 where
    # Python writes ::102:304); the hash covers one spelling, whichever the row comes back in.
    return None if address is None else str(ipaddress.ip_address(address))


def record(
    action: str,
    *,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    actor_id: int | None = None,
    patient_id: int | None = None,
    object_type: str = "",
    object_id: str | int = "",
    client_address: str | None = None,
    details: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append one event. Call inside the transaction of the change it records.

    Inside that transaction no savepoint is taken: an event that fails to
    write must undo the change it records, not leave it unaudited.
    """
    # Checked before the transaction: a refused event leaves the caller's transaction usable.
    event = AuditEvent(
        # Hashed as UTC: the zone the database gives the time back in.
        occurred_at=(occurred_at or timezone.now()).astimezone(UTC),
        actor_id=actor_id,
        patient_id=patient_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        outcome=outcome,
        client_address=_check_address(client_address),
        details=_check_details(details or {}),
    )
    if connection.vendor == "postgresql":
        _append_postgresql(event)
        return event
    with transaction.atomic(savepoint=not transaction.get_connection().in_atomic_block):
        head = _locked_head()
        event.previous_hash = head.last_hash
        event.row_hash = compute_hash(event)
        event.save(force_insert=True)
        head.last_event_id = event.pk
        head.last_hash = event.row_hash
        head.save(update_fields=["last_event_id", "last_hash"])
    return event


def _locked_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def _append_postgresql(event: AuditEvent) -> None:
    """PostgreSQL: lock the chain head, write the event and move the head in one statement.

    One round trip, and outside a transaction no BEGIN and COMMIT either: the
    statement is atomic by itself. The previous hash is only known once the head
    is locked, so the database finishes the row hash: the canonical form ends
    with the previous hash (its keys are sorted and "previous_hash" comes last),
    so Python sends everything before it and `sha256()` hashes prefix, previous
    hash and closing. `compute_hash` gives the same digest when the chain is verified.
    Django prepares the values as `save()` would.
    """
    event.previous_hash = ""
    canonical = _canonical(event).decode()
    closing = '"}'
    if not canonical.endswith('"previous_hash":""}'):
        raise RuntimeError("the canonical form of an audit event no longer ends with the previous hash")
    prefix = canonical[: -len(closing)]
    fields = [
        f for f in AuditEvent._meta.concrete_fields if f.attname not in ("id", "previous_hash", "row_hash")
    ]
    query = InsertQuery(AuditEvent)
    query.insert_values(fields, [event])
    compiler = query.get_compiler(connection=connection)
    values = [compiler.prepare_value(f, compiler.pre_save_val(f, event)) for f in fields]
    [placeholders], [params] = compiler.assemble_as_sql(fields, [values])
    quote = connection.ops.quote_name
    table, head = quote(AuditEvent._meta.db_table), quote(AuditChainHead._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields if f.column)  # concrete fields: each has one
    # Table and column names come from the models; every value is a parameter.
    sql = (
        f"WITH head AS (SELECT last_hash FROM {head} WHERE id = 1 FOR UPDATE), "  # noqa: S608
        f"event AS (INSERT INTO {table} ({columns}, previous_hash, row_hash) "
        f"SELECT {', '.join(placeholders)}, head.last_hash, "
        "encode(sha256(convert_to(%s || head.last_hash || %s, 'UTF8')), 'hex') FROM head "
        "RETURNING id, previous_hash, row_hash) "
        f"UPDATE {head} SET last_event_id = event.id, last_hash = event.row_hash FROM event "
        f"WHERE {head}.id = 1 RETURNING event.id, event.previous_hash, event.row_hash"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, prefix, closing])
        row = cursor.fetchone()
        if row is None:  # a new database: the chain has no head yet
            AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})
            cursor.execute(sql, [*params, prefix, closing])
            row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the audit chain head is missing")
    event.pk, event.previous_hash, event.row_hash = int(row[0]), row[1], row[2]
    event._state.adding, event._state.db = False, connection.alias


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


def verify_chain(*, batch_size: int = 2000) -> tuple[int, ChainBreak | None]:
    """Walk the chain in order; return how many rows held and the first break, if any."""
    expected_previous = GENESIS_HASH
    checked = 0
    for event in _in_order(batch_size):
        if event.previous_hash != expected_previous:
            return checked, ChainBreak(event.pk, "does not follow the row before it")
        if compute_hash(event) != event.row_hash:
            return checked, ChainBreak(event.pk, "its content was changed after it was written")
        expected_previous = event.row_hash
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != expected_previous:
        return checked, ChainBreak(head.last_event_id, "rows at the end of the log are missing")
    return checked, None


def _in_order(batch_size: int) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        batch = list(AuditEvent.objects.filter(pk__gt=last_id).order_by("pk")[:batch_size])
        if not batch:
            return
        yield from batch
        last_id = batch[-1].pk
