"""Second factor: adding an authenticator app, recovery codes, removing it."""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.actions.signin import _verify
from portal.accounts.models import User
from portal.audit import log as audit
from portal.core.acting import Actor

RECOVERY_CODE_COUNT = 10


def unconfirmed_totp_device(user: User, device_id: int | None) -> TOTPDevice:
    """The device this set-up (one session) is adding, or a new one with a fresh key.

    A key shown to one session is never offered to another: someone who learned the
    password and opened this page must not know the key the owner later confirms."""
    if device_id is not None:
        device = TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()
        if device is not None:
            return device
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def do_confirm_totp(*, by: Actor, device_id: int, code: str) -> list[str] | None:
    """Confirm the authenticator this set-up added; returns fresh recovery codes, or None
    if the code is wrong."""
    user, client_address = by.user, by.client_address
    device = TOTPDevice.objects.select_for_update().filter(pk=device_id, user=user, confirmed=False).first()
    if device is None or not re.fullmatch(r"\d{6}", code.strip()) or not _verify(device, code.strip()):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    if user.second_step_reset_at is not None:
        user.second_step_reset_at = None  # the help desk's reset is done with: set up again
        user.save(update_fields=["second_step_reset_at"])
    codes = _new_recovery_codes(user)
    _bump_generation(user)
    audit.record("second_factor_enabled", actor_id=user.pk, client_address=client_address)
    return codes


@transaction.atomic
def do_regenerate_recovery_codes(*, by: Actor) -> list[str]:
    user, client_address = by.user, by.client_address
    codes = _new_recovery_codes(user)
    _bump_generation(user)
    audit.record("recovery_codes_replaced", actor_id=user.pk, client_address=client_address)
    return codes


@transaction.atomic
def do_remove_second_factor(*, by: Actor) -> None:
    user, client_address = by.user, by.client_address
    remove_devices(user)
    _bump_generation(user)
    audit.record("second_factor_removed", actor_id=user.pk, client_address=client_address)


def do_record_recovery_codes_download(*, by: Actor, device_id: int) -> None:
    """The codes' text file left the portal: which set (the device's id), never the codes."""
    audit.record(
        "recovery_codes_downloaded",
        actor_id=by.user.pk,
        object_type="recovery_codes",
        object_id=device_id,
        client_address=by.client_address,
    )


def remove_devices(user: User) -> None:
    """The authenticator app and the recovery codes (a linked card is not a second step here)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def _bump_generation(user: User) -> None:
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])


def do_mark_mfa_offered(*, user: User) -> None:
    user.mfa_offered_at = timezone.now()
    user.save(update_fields=["mfa_offered_at"])
