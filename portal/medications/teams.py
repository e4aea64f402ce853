"""Where a prescription's renewal goes: the care team of the staff member who wrote it.

The EHR names the prescriber as a Practitioner; the portal knows that person as the staff
member with the Practitioner's NPI (`clinics.StaffMember.npi`, set by an operator). Never by
name: two people may share one. Where no staff member has the NPI, or they are on none of the
patient's teams, the patient's first team (the one a patient writes to first) takes it.
"""

from __future__ import annotations

from portal.clinics.models import CareTeam
from portal.medications.models import Prescription


def care_team_of(patient_id: int, npi: str) -> CareTeam | None:
    """The patient's active care team the staff member with this NPI is on (the first, if
    several); else the patient's first active team; None if they have none."""
    teams = CareTeam.objects.filter(patient_links__patient_id=patient_id, is_active=True).order_by("pk")
    if npi:
        theirs = teams.filter(memberships__staff_member__npi=npi).first()
        if theirs is not None:
            return theirs
    return teams.first()


def prescriber_team(rx: Prescription) -> CareTeam | None:
    """Where a renewal of `rx` goes now: by the prescriber's NPI as the link stands today (an
    NPI an operator gave a staff member after the import counts at once), else the team the
    import chose."""
    if rx.prescriber_npi:
        return care_team_of(rx.patient_id, rx.prescriber_npi)
    return rx.care_team
