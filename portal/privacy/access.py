"""The door to the break-glass review: privacy officers only."""

from __future__ import annotations

from portal.accounts.models import User
from portal.clinics.access import staff_of
from portal.clinics.models import StaffMember
from portal.core.acting import refuse


def access_break_glass_review(user: User) -> StaffMember:
    """The privacy officer reviewing; the same 404 as any page that is not there for anyone else."""
    staff = staff_of(user)
    if staff.role != StaffMember.Role.PRIVACY_OFFICER:
        raise refuse(user, "break_glass_review", "")
    return staff
