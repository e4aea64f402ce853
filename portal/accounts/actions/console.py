"""Account state changed in the operator console (active, console access), on the record."""

from __future__ import annotations

from django.db import transaction

from portal.accounts.models import User
from portal.core.acting import Actor, Refused, audit_event


def check_save_account(*, by: Actor, account: User, before: dict[str, bool] | None, reason: str) -> None:
    """Save an account made or changed in the console; its state before and after go in the event.

    `reason` is a code (portal.clinics.actions.ChangeReason's values, checked by the form)."""
    if not reason:
        raise Refused("Choose the reason for this change.", field="change_reason")
    if account.pk == by.user.pk and before is not None and before["is_active"] and not account.is_active:
        raise Refused("You cannot switch off your own account.", field="is_active")
    with transaction.atomic():
        if before is not None and before["is_active"] != account.is_active:
            # A switched-off account's sessions end at their next request.
            account.session_generation += 1
        account.save()
        after = {"is_active": account.is_active, "is_staff": account.is_staff}
        audit_event(
            "accounts.account_saved",
            by=by,
            object_type="user",
            object_id=account.pk,
            active_before=None if before is None else before["is_active"],
            active_after=after["is_active"],
            console_before=None if before is None else before["is_staff"],
            console_after=after["is_staff"],
            reason=reason,
        )
