"""Demo data: synthetic hospitals, clinics, teams, staff and patients.

Every name here is made up. The DoD ID numbers start with 99, outside the
range the DoD issues to people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import User
from portal.clinics.models import (
    CareTeam,
    Clinic,
    Hospital,
    Patient,
    PatientCareTeam,
    StaffMember,
    TeamMembership,
)

DEMO_PASSWORD = "correct llama staple 2026"
# Staff must use a second step; in the demo their authenticator keys are fixed so
# `manage.py demo_code USERNAME` can print the current code.
DEMO_TOTP_KEY_PREFIX = "64656d6f2d746f74702d"

HOSPITALS = [("Fort Example Army Medical Center", "0999")]
CLINICS = [("Family Health Clinic", "0999"), ("Internal Medicine Clinic", "0999")]
TEAMS = [
    ("Family Health Clinic", "Family Health Team Blue"),
    ("Family Health Clinic", "Family Health Team Gold"),
    ("Internal Medicine Clinic", "Internal Medicine Team A"),
    ("Internal Medicine Clinic", "Pharmacy Refill Team"),
]
STAFF = [
    ("dr.diaz", "Dana", "Diaz", "physician", ["Family Health Team Blue"]),
    ("nurse.nolan", "Nora", "Nolan", "nurse", ["Family Health Team Blue", "Family Health Team Gold"]),
    ("ma.moreno", "Milo", "Moreno", "medical_assistant", ["Family Health Team Gold"]),
    ("dr.ito", "Iris", "Ito", "physician", ["Internal Medicine Team A"]),
    ("clerk.chen", "Cal", "Chen", "clerk", ["Internal Medicine Team A"]),
    ("rx.patel", "Priya", "Patel", "pharmacist", ["Pharmacy Refill Team"]),
    ("sched.sato", "Sam", "Sato", "scheduler", ["Family Health Team Blue", "Internal Medicine Team A"]),
    ("admin.adams", "Alex", "Adams", "administrator", []),
    ("privacy.park", "Priya", "Park", "privacy_officer", []),
]
# The NPIs the demo EHR's Practitioners carry (made up, from 999: outside the numbers issued):
# each links the staff member to the EHR's prescriber, so a renewal reaches their team.
NPIS = {
    "dr.diaz": "9990000101",
    "dr.ito": "9990000102",
    "nurse.nolan": "9990000104",
    "rx.patel": "9990000106",
}
FIRST = [
    "Paula",
    "Evan",
    "Maya",
    "Jonah",
    "Rosa",
    "Theo",
    "Lena",
    "Omar",
    "Greta",
    "Ravi",
    "Hana",
    "Felix",
    "Ines",
    "Caleb",
    "Yara",
    "Bruno",
    "Nadia",
    "Owen",
    "Tess",
    "Victor",
]
LAST = [
    "Quill",
    "Vance",
    "Okafor",
    "Lindqvist",
    "Marsh",
    "Abernathy",
    "Kowal",
    "Haddad",
    "Stroud",
    "Iyer",
    "Tanaka",
    "Brandt",
    "Ferreira",
    "Yoon",
    "Castell",
    "Duarte",
    "Petrov",
    "Galloway",
    "Rhee",
    "Sandoval",
]
ACCOUNTS = 12  # the first twelve patients have accounts; the rest can try Create New Account


@dataclass(frozen=True)
class DemoPerson:
    username: str
    name: str
    role: str


def patient_dod_id(index: int) -> str:
    return f"99{index + 1:08d}"


def patient_birth_date(index: int) -> date:
    return date(1960 + index * 2, (index % 12) + 1, (index * 3) % 27 + 1)


@transaction.atomic
def load() -> bool:
    """Create the demo world once; a second run changes nothing. True if it created it."""
    if Hospital.objects.filter(code="0999").exists():
        return False
    # The demo hospital keeps Eastern time, whatever the portal's own zone.
    hospital = Hospital.objects.create(
        name=HOSPITALS[0][0], code=HOSPITALS[0][1], time_zone="America/New_York"
    )
    clinics = {name: Clinic.objects.create(hospital=hospital, name=name) for name, _ in CLINICS}
    teams = {name: CareTeam.objects.create(clinic=clinics[clinic], name=name) for clinic, name in TEAMS}
    for index, (username, first, last, role, member_of) in enumerate(STAFF):
        staff_user = User.objects.create_user(
            username=username,
            password=DEMO_PASSWORD,
            kind=User.Kind.STAFF,
            email=f"{username}@staff.example.mil",
            email_confirmed_at=timezone.now(),
            is_staff=role == "administrator",
        )
        staff = StaffMember.objects.create(
            user=staff_user, first_name=first, last_name=last, role=role, npi=NPIS.get(username, "")
        )
        for team in member_of:
            TeamMembership.objects.create(staff_member=staff, care_team=teams[team])
        TOTPDevice.objects.create(
            user=staff_user,
            name="Demo authenticator",
            confirmed=True,
            key=f"{DEMO_TOTP_KEY_PREFIX}{index:020d}",
        )
    team_names = list(teams)
    for index, (first, last) in enumerate(zip(FIRST, LAST, strict=True)):
        user: User | None = None
        if index < ACCOUNTS:
            user = User.objects.create_user(
                username=first.lower(),
                password=DEMO_PASSWORD,
                kind=User.Kind.PATIENT,
                email_confirmed_at=timezone.now(),
            )
        patient = Patient.objects.create(
            dod_id=patient_dod_id(index),
            first_name=first,
            last_name=last,
            birth_date=patient_birth_date(index),
            email=f"{first.lower()}.{last.lower()}@example.com",
            mobile_phone=f"555-010-{index:04d}",
            user=user,
        )
        PatientCareTeam.objects.create(patient=patient, care_team=teams[team_names[index % 2]])
        if index % 3 == 0:
            PatientCareTeam.objects.create(patient=patient, care_team=teams[team_names[2 + index % 2]])
    return True


def sign_in_lines() -> list[str]:
    lines = [f"Every demo password: {DEMO_PASSWORD}", "", "Patients (username):"]
    for index in range(ACCOUNTS):
        lines.append(f"  {FIRST[index].lower():<10} {FIRST[index]} {LAST[index]}")
    lines += ["", "Staff (username, role; second step code: `make demo-code WHO=dr.diaz`):"]
    lines += [f"  {username:<12} {role}" for username, _, _, role, _ in STAFF]
    lines += ["", "Patients without an account yet (try Create New Account):"]
    for index in range(ACCOUNTS, ACCOUNTS + 3):
        born = patient_birth_date(index)
        lines.append(f"  DoD ID {patient_dod_id(index)}  born {born:%m/%d/%Y}  last name {LAST[index]}")
    lines += ["", "E-mails the portal sends are files under var/mail/: `make outbox`."]
    return lines
