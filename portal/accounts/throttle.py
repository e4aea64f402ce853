"""Failed sign-ins: slow down, then lock, per username (as typed) and per address.

Keys are built from what was typed, whether or not such a user exists, so an
unknown username is slowed and locked exactly like a real one.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.accounts.models import SignInThrottle


@dataclass(frozen=True)
class Hold:
    """Why an attempt may not be made now, and until when."""

    locked: bool  # True: locked after too many failures; False: just slowed down
    until: datetime
    by_address: bool

    @property
    def seconds_left(self) -> int:
        return max(1, int((self.until - timezone.now()).total_seconds() + 0.999))


def username_key(username: str) -> str:
    # Hashed: people type their password into the username box, and what they
    # typed must not sit in the database as text.
    typed = username.strip().casefold()[:150]
    return "user:" + hashlib.sha256(typed.encode()).hexdigest()


def address_key(address: str | None) -> str | None:
    return f"addr:{address}" if address else None


def _keys(username: str, address: str | None) -> list[str]:
    keys = [username_key(username)]
    addr = address_key(address)
    if addr:
        keys.append(addr)
    return keys


def _network(address: str | None) -> str:
    """An IPv6 host owns a whole /64: count it as one address."""
    if not address:
        return "unknown"
    ip = ipaddress.ip_address(address)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def registration_keys(address: str | None, dod_id: str) -> list[str]:
    # Their own prefixes: no username typed at sign-in can share (and exhaust) these
    # counts. Per address, and per record, so guessing one patient's date of birth
    # from many addresses is stopped too. The DoD ID is kept only as a hash.
    record = hashlib.sha256(dod_id.encode()).hexdigest()
    return [f"register:{_network(address)}", f"register-record:{record}"]


def current_hold(username: str, address: str | None) -> Hold | None:
    return _hold(_keys(username, address))


def username_hold(username: str) -> Hold | None:
    """The hold on this username alone (not on any address): what the help desk can lift."""
    return _hold([username_key(username)])


def registration_hold(address: str | None, dod_id: str) -> Hold | None:
    """Matching a patient record is slowed and locked per address and per record."""
    return _hold(registration_keys(address, dod_id))


def register_registration_failure(address: str | None, dod_id: str) -> None:
    _count_failure(registration_keys(address, dod_id))


def _hold(keys: list[str]) -> Hold | None:
    now = timezone.now()
    holds: list[Hold] = []
    for row in SignInThrottle.objects.filter(key__in=keys):
        by_address = row.key.startswith("addr:")
        if row.locked_until and row.locked_until > now:
            holds.append(Hold(locked=True, until=row.locked_until, by_address=by_address))
            continue
        wait = slowdown(row.consecutive_failures)
        if wait and row.last_failure_at and row.last_failure_at + wait > now:
            holds.append(Hold(locked=False, until=row.last_failure_at + wait, by_address=by_address))
    if not holds:
        return None
    return max(holds, key=lambda hold: (hold.locked, hold.until))


def slowdown(failures: int) -> timedelta | None:
    """After a few failures, each further attempt must wait longer: 1, 2, 4 ... 30 s."""
    beyond = failures - settings.PORTAL_SLOWDOWN_AFTER_FAILURES
    if beyond < 0:
        return None
    return timedelta(seconds=min(2**beyond, 30))


def register_failure(username: str, address: str | None) -> bool:
    """Count a failure on every key; True when this failure locked the username."""
    return _count_failure(_keys(username, address))


def _count_failure(keys: list[str]) -> bool:
    now = timezone.now()
    locked_username = False
    with transaction.atomic():
        for key in keys:
            row, _ = SignInThrottle.objects.select_for_update().get_or_create(key=key)
            if row.locked_until and row.locked_until <= now:
                row.consecutive_failures = 0  # a lock that ran out starts a new count
                row.locked_until = None
            elif key.startswith("addr:") and _quiet_since(row, now):
                row.consecutive_failures = 0  # no success resets an address; a quiet spell does
            row.consecutive_failures += 1
            row.last_failure_at = now
            if row.consecutive_failures >= settings.PORTAL_LOCK_AFTER_FAILURES:
                row.locked_until = now + timedelta(minutes=settings.PORTAL_LOCK_MINUTES)
                locked_username = locked_username or key.startswith("user:")
            row.save()
    return locked_username


def _quiet_since(row: SignInThrottle, now: datetime) -> bool:
    quiet = timedelta(minutes=settings.PORTAL_LOCK_MINUTES)
    return row.last_failure_at is not None and row.last_failure_at + quiet <= now


def register_success(username: str, address: str | None) -> None:
    """A success clears the username's count only. The address keeps its count:
    otherwise anyone with an account could reset it between guesses at others."""
    SignInThrottle.objects.filter(key=username_key(username)).delete()


def clear_username(username: str) -> None:
    """A password reset proves the owner: the lock on their username is lifted."""
    SignInThrottle.objects.filter(key=username_key(username)).delete()
