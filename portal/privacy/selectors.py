"""Reads for privacy officers: every break-glass use, with its explanation opened."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from portal.accounts.models import User
from portal.clinics.models import BreakGlassGrant
from portal.privacy.access import access_break_glass_review
from portal.vault.reading import keyrings, read_sealed

REVIEW_SIZE = 200


@dataclass(frozen=True)
class BreakGlassUse:
    grant: BreakGlassGrant
    staff_name: str
    patient_name: str
    explanation: str = field(repr=False)

    @property
    def minutes(self) -> int:
        return int((self.grant.expires_at - self.grant.granted_at).total_seconds() // 60)

    @property
    def granted_at(self) -> datetime:
        return self.grant.granted_at


def break_glass_uses(user: User, *, size: int = REVIEW_SIZE) -> list[BreakGlassUse]:
    """The newest break-glass uses, for a privacy officer (Http404 for anyone else)."""
    access_break_glass_review(user)
    grants = list(
        BreakGlassGrant.objects.select_related("patient", "staff_user__staff_member").order_by(
            "-granted_at", "-id"
        )[:size]
    )
    rings = keyrings({grant.patient_id for grant in grants})
    return [
        BreakGlassUse(
            grant=grant,
            staff_name=_staff_name(grant),
            patient_name=grant.patient.display_name,
            explanation=read_sealed(rings[grant.patient_id], grant, "explanation"),
        )
        for grant in grants
    ]


def _staff_name(grant: BreakGlassGrant) -> str:
    staff = grant.staff_user.staff_record
    return staff.display_name if staff is not None else grant.staff_user.username
