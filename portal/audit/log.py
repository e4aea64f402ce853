"""Writing, sealing and verifying the hash-chained audit log.

A request writes its event and nothing else that is shared: `record()` inserts
the event (and a row on the sealer's work list) in the caller's transaction,
so the event commits or rolls back with the change it records, and no request
ever waits on another to audit. After commit a sealer chains committed events:
it takes the chain's head (skipping at once if another sealer has it), and
links each event to the one sealed before it with an `AuditSeal` (sequence
number, previous hash, row hash). The chain's order is the order events were
sealed; ids only say the order they were written, and concurrent transactions
commit in another order.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models.sql import InsertQuery
from django.utils import timezone

from portal.audit.models import AuditChainHead, AuditEvent, AuditSeal, AuditUnsealed

GENESIS_HASH = "0" * 64
_ALLOWED_DETAIL_TYPES = (int, bool, type(None))
# An event unsealed for longer than this is a break: the sealer runs after every commit and
# every few seconds besides, so only a stopped sealer or a removed work-list row leaves one.
UNSEALED_GRACE = timedelta(minutes=5)
SEAL_BATCH = 500
# After commit a request seals at most this many rounds; the periodic job and the next
# commit take over, so one request never spends long sealing everyone else's events.
logger = logging.getLogger(__name__)
_ROUNDS_AFTER_COMMIT = 3


def _canonical(event: AuditEvent, previous_hash: str) -> bytes:
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
        "previous_hash": previous_hash,
    }
    # Only when set: rows written before the field existed (and the migrations' historical
    # model, which has no such field) keep the hashes they were sealed with.
    login_method = getattr(event, "login_method", None)
    if login_method is not None:
        fields["login_method"] = login_method
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def compute_hash(event: AuditEvent, previous_hash: str) -> str:
    """The row hash of `event` sealed after a row whose hash is `previous_hash`.

    The canonical form is the one the log always had, so rows chained before seals
    existed verify with the hashes they were written with."""
    return hashlib.sha256(_canonical(event, previous_hash)).hexdigest()


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


# How the session acting now was signed in, set per request from the session by
# `portal.accounts.middleware.AuditLoginMethodMiddleware` (and by the sign-in itself).
_login_method: ContextVar[str | None] = ContextVar("audit_login_method", default=None)


def _check_login_method(method: str | None) -> str | None:
    if method is not None and (len(method) > 30 or any(ch.isspace() for ch in method) or not method):
        raise ValueError("audit login method must be a short code")
    return method


def set_login_method(method: str | None) -> None:
    """Every event this context writes from now on says the session signed in with `method`."""
    _login_method.set(_check_login_method(method))


@contextmanager
def login_method(method: str | None) -> Iterator[None]:
    """Events written inside the block carry `method` (a request's span, a test's)."""
    token = _login_method.set(_check_login_method(method))
    try:
        yield
    finally:
        _login_method.reset(token)


def current_login_method() -> str | None:
    return _login_method.get()


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
    """Write one event. Call inside the transaction of the change it records.

    Inside that transaction no savepoint is taken: an event that fails to
    write must undo the change it records, not leave it unaudited. No shared
    row is locked; the event is chained by the sealer once the transaction
    commits (`seal_pending`), so the returned event has no seal yet.
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
        login_method=_login_method.get(),
    )
    _insert(event)
    _seal_after_commit()
    return event


def _insert(event: AuditEvent) -> None:
    """The event and its work-list row, as plain statements (the hottest write of the portal:
    every audited page makes one). Django prepares the values as `save()` would.

    PostgreSQL: one statement, so outside a transaction no BEGIN and COMMIT either (the
    statement is atomic by itself). SQLite: two statements, in the caller's transaction or
    in one of their own."""
    fields = [f for f in AuditEvent._meta.concrete_fields if f.attname != "id"]
    query = InsertQuery(AuditEvent)
    query.insert_values(fields, [event])
    compiler = query.get_compiler(connection=connection)
    values = [compiler.prepare_value(f, compiler.pre_save_val(f, event)) for f in fields]
    [placeholders], [params] = compiler.assemble_as_sql(fields, [values])
    quote = connection.ops.quote_name
    table, unsealed = quote(AuditEvent._meta.db_table), quote(AuditUnsealed._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields if f.column)  # concrete fields: each has one
    # Table and column names come from the models; every value is a parameter.
    insert = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(placeholders)})"  # noqa: S608
    if connection.vendor == "postgresql":
        sql = (
            f"WITH event AS ({insert} RETURNING id) "  # noqa: S608
            f"INSERT INTO {unsealed} (event_id) SELECT id FROM event RETURNING event_id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            raise RuntimeError("the audit event was not written")
        event_id = int(row[0])
    else:
        with transaction.atomic(savepoint=not connection.in_atomic_block), connection.cursor() as cursor:
            cursor.execute(insert, params)
            event_id = int(cursor.lastrowid)
            cursor.execute(f"INSERT INTO {unsealed} (event_id) VALUES (%s)", [event_id])  # noqa: S608
    event.pk = event_id
    event._state.adding, event._state.db = False, connection.alias


# --- sealing --------------------------------------------------------------------------------------


def _seal_after_commit() -> None:
    """Seal once the caller's transaction commits (at once outside a transaction).

    Robust: the change and its event are committed by then, so a sealer that
    fails must not fail the request; the next run seals the event."""
    pending = getattr(connection, "run_on_commit", [])
    if any(callback is _seal_committed for _, callback, _ in pending):
        return  # one sealer per transaction, however many events it recorded
    transaction.on_commit(_seal_committed, robust=True)


# Inside a request the sealing waits for the request's end (`sealing_at_the_end`, which
# portal.core.middleware.SealAuditAtTheEndMiddleware wraps around every request): a request
# that commits twice (an autosave and then the send) seals once. It runs before the response
# leaves, so the next request of the same person finds its events chained. Outside a request
# it runs at each commit.
_request = threading.local()


@contextmanager
def sealing_at_the_end() -> Iterator[None]:
    """Within the block, events committed are sealed once, when the block ends."""
    outer = getattr(_request, "active", False)
    _request.active = True
    if not outer:
        _request.seal = False
    try:
        yield
    finally:
        if not outer:
            seal, _request.active, _request.seal = getattr(_request, "seal", False), False, False
            if seal:
                try:
                    _seal_now()
                except Exception:  # noqa: BLE001 - the events are committed: the next sealer chains them
                    logger.exception("audit: sealing at the end of a request failed; the next run seals it")


# In a server process a thread of its own seals (`portal.audit.sealer`): a commit only wakes it.
_background: list[Callable[[], None]] = []


def seal_in_background(wake: Callable[[], None] | None) -> None:
    """Commits call `wake` instead of sealing (None: seal at commit, or at a request's end)."""
    _background[:] = [wake] if wake is not None else []


def _seal_committed() -> None:
    wake = _background[0] if _background else None
    if wake is not None:
        wake()
        return
    if getattr(_request, "active", False):
        _request.seal = True
        return
    _seal_now()


def _seal_now() -> None:
    for _ in range(_ROUNDS_AFTER_COMMIT):
        # A sealer that finds the head taken returns at once: its holder, or the one after,
        # picks these events up. The holder looks again after it lets go (below), so an
        # event committed while it worked does not wait for the periodic job.
        if not _seal_round() or not AuditUnsealed.objects.exists():
            return


def seal_pending() -> int:
    """Chain every committed event not chained yet; return how many were sealed.

    Never waits: if another sealer holds the chain's head, returns 0 at once
    (that sealer seals what is pending). Run after commit by `record()` and
    periodically by `manage.py audit_seal`."""
    total = 0
    while True:
        sealed = _seal_round()
        if sealed is None:
            return total
        total += sealed
        if not AuditUnsealed.objects.exists():
            return total
        if not sealed and not _clear_strays():
            return total  # what is left committed after this round looked: the next run's


def seal_round() -> int | None:
    """One round: chain what is on the work list now (None if another sealer has the head).

    A background sealer runs one round per wake: under steady load the list is never empty,
    and `seal_pending`, which goes on until it is, would chain a few events at a time without
    end instead of letting them gather."""
    return _seal_round()


def _seal_round() -> int | None:
    """Seal what is on the work list now, in id order, under the head. None if the head is taken."""
    with transaction.atomic():
        head = _take_head()
        if head is None:
            return None
        sealed = 0
        while True:
            events = _waiting_events()
            seals = []
            for event in events:
                row_hash = compute_hash(event, head.last_hash)
                head.last_seq += 1
                seals.append(
                    AuditSeal(
                        seq=head.last_seq, event_id=event.pk, previous_hash=head.last_hash, row_hash=row_hash
                    )
                )
                head.last_event_id, head.last_hash = event.pk, row_hash
            if seals:
                _write_seals(seals, head)
            sealed += len(seals)
            if len(events) < SEAL_BATCH:
                return sealed


def _clear_strays() -> int:
    """Remove work-list rows whose event is gone; only a hand in the database leaves one,
    and a list starting with enough of them would otherwise give the sealer nothing to do."""
    first = list(AuditUnsealed.objects.order_by("event_id").values_list("event_id", flat=True)[:SEAL_BATCH])
    present = set(AuditEvent.objects.filter(pk__in=first).values_list("pk", flat=True))
    strays = [event_id for event_id in first if event_id not in present]
    AuditUnsealed.objects.filter(event_id__in=strays).delete()
    return len(strays)


def _take_head() -> AuditChainHead | None:
    """The chain's head, locked for this transaction; None if another sealer holds it.

    On PostgreSQL SKIP LOCKED: nobody waits on a sealer. One statement says both
    whether the head was taken and whether there is one, and lets the sealer's
    commit return before its WAL is flushed: a crash can only lose whole sealing
    transactions (seals, work-list removals and head move together), whose
    events, committed durably by their requests, are sealed again. So the head
    is not held across a disk flush. SQLite has one writer, and a transaction
    here begins IMMEDIATE, so holding the transaction is the lock."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(AuditChainHead._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT locked.last_seq, locked.last_event_id, locked.last_hash, "  # noqa: S608 - model names
                f"EXISTS (SELECT 1 FROM {table} WHERE id = 1), "
                "set_config('synchronous_commit', 'off', true) FROM (SELECT 1) AS one LEFT JOIN "
                f"(SELECT * FROM {table} WHERE id = 1 FOR UPDATE SKIP LOCKED) AS locked ON true"
            )
            last_seq, last_event_id, last_hash, exists, _ = cursor.fetchone()
        if last_hash is not None:
            head = AuditChainHead(pk=1, last_seq=last_seq, last_event_id=last_event_id, last_hash=last_hash)
            head._state.adding, head._state.db = False, connection.alias
            return head
        if exists:
            return None  # another sealer has it
    else:
        found = AuditChainHead.objects.filter(pk=1).first()
        if found is not None:
            return found
    # A new database: the first sealer makes the head (a second one waits for that insert once).
    AuditChainHead.objects.bulk_create([AuditChainHead(pk=1, last_hash=GENESIS_HASH)], ignore_conflicts=True)
    heads = AuditChainHead.objects.filter(pk=1)
    if connection.vendor == "postgresql":
        heads = heads.select_for_update(skip_locked=True)
    return heads.first()


def _waiting_events() -> list[AuditEvent]:
    """Up to SEAL_BATCH committed events on the work list, in id order."""
    first = AuditUnsealed.objects.order_by("event_id").values("event_id")[:SEAL_BATCH]
    if connection.vendor != "postgresql":
        return list(AuditEvent.objects.filter(pk__in=first).order_by("pk"))
    # = ANY(ARRAY(...)) makes the short list one value, so each event is found by its primary
    # key; written as a join, the planner may read every event in the log to hash them.
    quote = connection.ops.quote_name
    events, unsealed = quote(AuditEvent._meta.db_table), quote(AuditUnsealed._meta.db_table)
    sql = (
        f"SELECT * FROM {events} WHERE id = ANY(ARRAY(SELECT event_id FROM {unsealed} "  # noqa: S608
        "ORDER BY event_id LIMIT %s)) ORDER BY id"
    )
    return list(AuditEvent.objects.raw(sql, [SEAL_BATCH]))


def _write_seals(seals: list[AuditSeal], head: AuditChainHead) -> None:
    """The seals, their events off the work list and the head moved: one statement on PostgreSQL."""
    sealed_ids = [seal.event_id for seal in seals]
    if connection.vendor != "postgresql":
        AuditSeal.objects.bulk_create(seals)
        AuditUnsealed.objects.filter(event_id__in=sealed_ids).delete()
        head.save(update_fields=["last_seq", "last_event_id", "last_hash"])
        return
    quote = connection.ops.quote_name
    seal_table, unsealed = quote(AuditSeal._meta.db_table), quote(AuditUnsealed._meta.db_table)
    head_table = quote(AuditChainHead._meta.db_table)
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(seals))
    sql = (
        f"WITH sealed AS (INSERT INTO {seal_table} (seq, event_id, previous_hash, row_hash) "  # noqa: S608
        f"VALUES {rows}), cleared AS (DELETE FROM {unsealed} WHERE event_id = ANY(%s)) "
        f"UPDATE {head_table} SET last_seq = %s, last_event_id = %s, last_hash = %s WHERE id = 1"
    )
    params: list[Any] = [value for s in seals for value in (s.seq, s.event_id, s.previous_hash, s.row_hash)]
    params += [sealed_ids, head.last_seq, head.last_event_id, head.last_hash]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- verifying ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


class _Walk:
    """The chain walked in seal order, batch by batch, checking each link."""

    def __init__(self) -> None:
        self.checked = 0
        self.expected_previous = GENESIS_HASH
        self.previous_event_id: int | None = None

    def advance(self, batch_size: int) -> ChainBreak | None:
        while True:
            # From the lowest seq there is, not from 1: a seal numbered 0 or below is a forgery too.
            in_order = AuditSeal.objects.order_by("seq")
            if self.checked:
                in_order = in_order.filter(seq__gt=self.checked)
            seals = list(in_order[:batch_size])
            if not seals:
                return None
            events = AuditEvent.objects.in_bulk([seal.event_id for seal in seals])
            for seal in seals:
                broken = self._check(seal, events.get(seal.event_id))
                if broken is not None:
                    return broken
                self.expected_previous, self.previous_event_id = seal.row_hash, seal.event_id
                self.checked += 1

    def _check(self, seal: AuditSeal, event: AuditEvent | None) -> ChainBreak | None:
        if seal.seq != self.checked + 1 or seal.previous_hash != self.expected_previous:
            before = (
                "the chain's start" if self.previous_event_id is None else f"event {self.previous_event_id}"
            )
            return ChainBreak(seal.event_id, f"does not follow the row before it ({before})")
        if event is None:
            return ChainBreak(seal.event_id, "it was sealed into the chain and has been removed")
        if compute_hash(event, seal.previous_hash) != seal.row_hash:
            return ChainBreak(seal.event_id, "its content was changed after it was written")
        return None


def verify_chain(*, batch_size: int = 2000, now: datetime | None = None) -> tuple[int, ChainBreak | None]:
    """Walk the chain in seal order; return how many events held and the first break, if any.

    Also a break: seals past the chain's head or missing at its end, and an event
    older than `UNSEALED_GRACE` that was never sealed. Newer unsealed events are
    not: they wait for the sealer (`count_waiting`). Reads only; it seals nothing.
    """
    walk = _Walk()
    while True:
        walked = walk.checked
        broken = walk.advance(batch_size)
        if broken is not None:
            return walk.checked, broken
        head = AuditChainHead.objects.filter(pk=1).first()
        # A sealer may have moved the head since the walk ended: walk on to it.
        if head is None or head.last_seq <= walk.checked or walk.checked == walked:
            break
    head_seq, head_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)
    # Seals and the head are written in one transaction: a seal the head has not
    # reached was not written by a sealer, and a head beyond the last seal lost rows.
    if walk.checked > head_seq:
        beyond = AuditSeal.objects.filter(seq=head_seq + 1).values_list("event_id", flat=True).first()
        return head_seq, ChainBreak(beyond or 0, "it was sealed past the end of the chain")
    if walk.checked < head_seq or walk.expected_previous != head_hash:
        missing_after = head.last_event_id if head else 0
        return walk.checked, ChainBreak(missing_after, "rows at the end of the log are missing")
    return walk.checked, _never_sealed(now or timezone.now())


def _never_sealed(now: datetime) -> ChainBreak | None:
    overdue = (
        AuditEvent.objects.filter(seal__isnull=True, occurred_at__lt=now - UNSEALED_GRACE)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if overdue is None:
        return None
    return ChainBreak(overdue, f"it was never sealed into the chain (older than {_minutes(UNSEALED_GRACE)})")


def count_waiting(*, now: datetime | None = None) -> int:
    """Events written within `UNSEALED_GRACE` and not sealed yet: not a break, just not chained yet."""
    since = (now or timezone.now()) - UNSEALED_GRACE
    return AuditEvent.objects.filter(seal__isnull=True, occurred_at__gte=since).count()


def _minutes(span: timedelta) -> str:
    return f"{int(span.total_seconds() // 60)} minutes"
