"""Shared test fixtures: the named people every test talks about.

Paula Quill is a patient of Family Health Team Blue; she has an account.
Eve Vance is another patient (Family Health Team Gold): every page of Paula's
answers 404 to her. Dr. Dana Diaz is a physician on Team Blue; Bea Baker is a
nurse on Team Blue too (she works the same pool, and never sees Dr. Diaz's
drafts); Nora Nolan is a nurse on Team Gold only. Alex Adams is an administrator. Rosa Marsh has a
record but no account yet: she is the one who registers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import TermsAcceptance, User
from portal.accounts.selectors import current_terms
from portal.clinics.models import (
    CareTeam,
    Clinic,
    Hospital,
    Patient,
    PatientCareTeam,
    StaffMember,
    TeamMembership,
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API shares the thread

PASSWORD = "a long and quiet meadow"
SHARED_FHIR = os.path.join(os.path.dirname(__file__), "..", "shared", "fhir")


def totp_now(user: User) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    hospital = Hospital.objects.create(name="Fort Test Medical Center", code="T001")
    family = Clinic.objects.create(hospital=hospital, name="Family Health")
    internal = Clinic.objects.create(hospital=hospital, name="Internal Medicine")
    blue = CareTeam.objects.create(clinic=family, name="Team Blue")
    gold = CareTeam.objects.create(clinic=family, name="Team Gold")
    im = CareTeam.objects.create(clinic=internal, name="IM Team")
    return {
        "hospital": hospital,
        "family": family,
        "internal": internal,
        "blue": blue,
        "gold": gold,
        "im": im,
    }


def make_patient(
    *, username: str | None, first: str, last: str, dod_id: str, born: date, team: CareTeam | None
) -> Patient:
    user = None
    if username:
        user = User.objects.create_user(
            username=username, password=PASSWORD, kind=User.Kind.PATIENT, email_confirmed_at=timezone.now()
        )
    patient = Patient.objects.create(
        dod_id=dod_id,
        first_name=first,
        last_name=last,
        birth_date=born,
        email=f"{first.lower()}@example.com",
        mobile_phone="555-010-0000",
        user=user,
    )
    if team is not None:
        PatientCareTeam.objects.create(patient=patient, care_team=team)
    return patient


def make_staff(*, username: str, first: str, last: str, role: str, teams: list[CareTeam]) -> User:
    user = User.objects.create_user(
        username=username,
        password=PASSWORD,
        kind=User.Kind.STAFF,
        email=f"{username}@staff.example.mil",
        email_confirmed_at=timezone.now(),
        is_staff=role == "administrator",
    )
    staff = StaffMember.objects.create(user=user, first_name=first, last_name=last, role=role)
    for team in teams:
        TeamMembership.objects.create(staff_member=staff, care_team=team)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    return user


@pytest.fixture
def paula(world: dict[str, Any]) -> User:
    patient = make_patient(
        username="paula",
        first="Paula",
        last="Quill",
        dod_id="9900000001",
        born=date(1986, 4, 28),
        team=world["blue"],
    )
    assert patient.user is not None
    return patient.user


@pytest.fixture
def eve(world: dict[str, Any]) -> User:
    patient = make_patient(
        username="eve",
        first="Eve",
        last="Vance",
        dod_id="9900000002",
        born=date(1990, 1, 2),
        team=world["gold"],
    )
    assert patient.user is not None
    return patient.user


@pytest.fixture
def rosa(world: dict[str, Any]) -> Patient:
    return make_patient(
        username=None,
        first="Rosa",
        last="Marsh",
        dod_id="9900000005",
        born=date(1975, 9, 14),
        team=world["blue"],
    )


@pytest.fixture
def dr_diaz(world: dict[str, Any]) -> User:
    return make_staff(username="dr.diaz", first="Dana", last="Diaz", role="physician", teams=[world["blue"]])


@pytest.fixture
def nurse_baker(world: dict[str, Any]) -> User:
    return make_staff(username="nurse.baker", first="Bea", last="Baker", role="nurse", teams=[world["blue"]])


@pytest.fixture
def nurse_nolan(world: dict[str, Any]) -> User:
    return make_staff(username="nurse.nolan", first="Nora", last="Nolan", role="nurse", teams=[world["gold"]])


@pytest.fixture
def admin_adams(world: dict[str, Any]) -> User:
    return make_staff(username="admin.adams", first="Alex", last="Adams", role="administrator", teams=[])


def finish_first_steps(user: User) -> None:
    """Paula has already confirmed her contact details and accepted the conditions."""
    user.contact_verified_at = timezone.now()
    user.mfa_offered_at = timezone.now()
    user.save(update_fields=["contact_verified_at", "mfa_offered_at"])
    terms = current_terms()
    if terms is not None:
        TermsAcceptance.objects.get_or_create(user=user, terms=terms)


def agree_to_notice(client: Client) -> Client:
    """The browser session has agreed to the DoD notice and consent (accounts/consent.py)."""
    from portal.accounts import consent

    client.cookies[consent.cookie_name()] = consent.cookie_value()
    return client


def without_consent(client: Client) -> Client:
    """A client that has not agreed to the notice: the notice's own tests start from here."""
    from portal.accounts import consent

    client.cookies.pop(consent.cookie_name(), None)
    return client


def with_consent(headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers of a raw HTTP client (the TLS tests) that has agreed to the notice."""
    from portal.accounts import consent

    headers = dict(headers or {})
    agreed = f"{consent.cookie_name()}={consent.cookie_value()}"
    headers["Cookie"] = f"{agreed}; {headers['Cookie']}" if headers.get("Cookie") else agreed
    return headers


@pytest.fixture(autouse=True)
def _clients_have_agreed_to_the_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Django test client starts having agreed to the notice (and agrees again after
    `logout()`), so tests about something else sign in as before. The notice's own tests
    take the agreement away with `without_consent(client)`."""
    original_init, original_logout = Client.__init__, Client.logout

    def init(self: Client, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        agree_to_notice(self)

    def logout(self: Client) -> None:
        original_logout(self)
        agree_to_notice(self)

    monkeypatch.setattr(Client, "__init__", init)
    monkeypatch.setattr(Client, "logout", logout)


def sign_in(client: Client, user: User, *, password: str = PASSWORD) -> Any:
    agree_to_notice(client)
    response = client.post("/account/sign-in/", {"username": user.username, "password": password})
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        response = client.post("/account/sign-in/second-step/", {"code": totp_now(user)})
    return response


@pytest.fixture
def signed_in(client: Client) -> Callable[[User], Client]:
    """A client signed in as `user`, past the first sign-in steps."""

    def _sign_in(user: User) -> Client:
        finish_first_steps(user)
        response = sign_in(client, user)
        assert response.status_code == 302, response.content[:500]
        return client

    return _sign_in


class SideChannels:
    """Every place health information must never reach, searched for synthetic markers.

    Made by the `side_channels` fixture, which captures every log record (SQL
    with its parameters included) from the test's start. `scan(markers)` then
    searches those records, every table of the database (task payloads and
    decoded sessions included), every cache, the e-mails sent (Django's test
    outbox, decoded part by part), the files under the given folders, and the
    cookies of the given clients; it returns what it found, each naming its place.
    """

    def __init__(self, log: Any) -> None:
        self._log = log

    def scan(
        self,
        markers: list[str],
        *,
        clients: dict[str, Client] | None = None,
        folders: tuple[Path, ...] = (),
        also: dict[str, Any] | None = None,
    ) -> list[Any]:
        from django.core import mail

        from portal.core.tests.plaintext_scan import PlaintextScan

        scan = PlaintextScan(markers)
        scan.log_records(self._log.records)
        scan.database()
        scan.caches()
        scan.emails(getattr(mail, "outbox", []))
        for folder in folders:
            scan.directory(folder)
        for label, client in (clients or {}).items():
            scan.cookies(client, label)
        for place, value in (also or {}).items():
            scan.value(place, value)
        return scan.findings


@pytest.fixture
def side_channels(db: Any) -> Any:
    """Any domain's test: type markers into the portal, then `side_channels.scan(markers) == []`."""
    from portal.core.tests.plaintext_scan import every_log_record

    with every_log_record() as log:
        yield SideChannels(log)


@pytest.fixture(autouse=True)
def _audit_anchor_file(settings: Any, tmp_path: Path) -> None:
    """Each test anchors the audit chain in its own file, never in the developer's var/."""
    settings.PORTAL_AUDIT_ANCHOR_FILE = tmp_path / "audit-anchors.jsonl"
