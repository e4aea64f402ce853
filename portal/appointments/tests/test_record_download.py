"""Paula's "Download my record" holds her appointments and requests
(`portal.core.record_contributions`): in the FHIR bundle as `Appointment`s (validated with
fhir.resources R4B), and in the PDF and the text as the Appointments and Appointment requests
sections, with the visits the EHR sent. Eve's visits are never in Paula's file.

Paula Quill is a patient of Team Blue (Family Health); Dr. Diaz sees her visits there. Eve
Vance is a patient of Team Gold."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from portal.accounts.models import User
from portal.appointments import actions
from portal.appointments.models import Appointment, AppointmentType, Slot
from portal.appointments.past_visits import keep_encounters
from portal.appointments.slots import open_slots
from portal.appointments.tests.helpers import offer_visits
from portal.appointments.tests.test_past_visits import encounter, fed
from portal.core.acting import Actor
from portal.records.models import RecordExport
from portal.records.tests.test_downloads import pdf_pages, shown
from portal.vault.testing import isolated_vault

__all__ = ["isolated_vault"]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_vault(isolated_vault: Path) -> Path:
    return isolated_vault


def _slot(team: Any, kind: AppointmentType, *, days: int) -> Slot:
    found = open_slots(team.pk, kind.pk).filter(starts_at__gte=timezone.now() + timedelta(days=days)).first()
    assert found is not None
    return found


@pytest.fixture
def visits(world: dict[str, Any], paula: User, eve: User, dr_diaz: User) -> dict[str, Any]:
    """Paula: a booking with Dr. Diaz (moved once), a cancelled one, a completed one, an open
    request, a declined one, and an EHR encounter. Eve: a booking of her own with Team Gold."""
    blue = offer_visits(world["blue"])
    blue.templates.update(provider=dr_diaz.staff_member)
    by = Actor(paula)
    first = _slot(world["blue"], blue, days=3)
    booked = actions.check_book(
        by=by, team_id=world["blue"].pk, type_id=blue.pk, slot_id=first.pk, reason="Sore knee"
    )
    Slot.objects.filter(pk=_slot(world["blue"], blue, days=6).pk).update(provider=dr_diaz.staff_member)
    moved = actions.check_reschedule(
        by=by, appointment_id=booked.pk, slot_id=_slot(world["blue"], blue, days=6).pk
    )
    dropped = actions.check_book(
        by=by,
        team_id=world["blue"].pk,
        type_id=blue.pk,
        slot_id=_slot(world["blue"], blue, days=9).pk,
        reason="",
    )
    actions.check_cancel(by=by, appointment_id=dropped.pk)
    done = actions.check_book(
        by=by,
        team_id=world["blue"].pk,
        type_id=blue.pk,
        slot_id=_slot(world["blue"], blue, days=12).pk,
        reason="",
    )
    Appointment.objects.filter(pk=done.pk).update(status="completed")
    intake = AppointmentType.objects.get(care_team=world["blue"], name="Behavioral health intake")
    wanted = [actions.Preference(timezone.localdate() + timedelta(days=10), "morning")]
    waiting = actions.check_request(
        by=by, team_id=world["blue"].pk, type_id=intake.pk, preferences=wanted, reason="Trouble sleeping"
    )
    xray = AppointmentType.objects.create(care_team=world["blue"], name="Hearing test", request_only=True)
    refused = actions.check_request(
        by=by, team_id=world["blue"].pk, type_id=xray.pk, preferences=wanted, reason=""
    )
    actions.check_decline_request(by=Actor(dr_diaz), request_id=refused.pk, reason="Ask Audiology directly")
    keep_encounters([fed(paula.patient.pk, encounter())])

    gold = offer_visits(world["gold"])
    theirs = actions.check_book(
        by=Actor(eve), team_id=world["gold"].pk, type_id=gold.pk, slot_id=_slot(world["gold"], gold, days=4).pk,
        reason="EVE-ONLY rash",
    )  # fmt: skip
    return {
        "moved": moved,
        "dropped": dropped,
        "done": done,
        "waiting": waiting,
        "refused": refused,
        "eve": theirs,
    }


def _download(client: Any, capture: Any, kind: str, **days: str) -> bytes:
    scope = "range" if days else "everything"
    data = {
        "format": kind,
        "scope": scope,
        "starts_on": days.get("starts_on", ""),
        "ends_on": days.get("ends_on", ""),
    }
    with capture(execute=True):
        client.post("/record/download/", data)
    export = RecordExport.objects.filter(format=kind).latest("pk")
    assert export.status == "ready", export.failure
    return bytes(client.get(f"/record/download/{export.pk}/").content)


def test_the_bundle_holds_paulas_bookings_and_requests_as_fhir_appointments(
    signed_in: Any, paula: User, visits: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    bundle = json.loads(_download(signed_in(paula), django_capture_on_commit_callbacks, "fhir"))
    get_fhir_model_class("Bundle").model_validate(bundle)
    mine = {
        e["resource"]["id"]: e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Appointment"
    }
    for resource in mine.values():
        get_fhir_model_class("Appointment").model_validate(resource)
    moved, dropped, done = visits["moved"], visits["dropped"], visits["done"]
    assert set(mine) == {
        f"portal-appointment-{moved.pk}",
        f"portal-appointment-{dropped.pk}",
        f"portal-appointment-{done.pk}",
        f"portal-appointment-request-{visits['waiting'].pk}",
        f"portal-appointment-request-{visits['refused'].pk}",
    }  # the booking moved away from is its new one; Eve's is not Paula's
    booked = mine[f"portal-appointment-{moved.pk}"]
    assert booked["status"] == "booked"
    assert booked["start"] == moved.starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert booked["end"].endswith("Z") and booked["minutesDuration"] == 20
    assert booked["identifier"] == [
        {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{moved.calendar_uid}"}
    ]
    assert booked["reasonCode"] == [{"text": "Sore knee"}]
    actors = {p["actor"]["type"]: p["actor"] for p in booked["participant"]}
    assert actors["Patient"]["identifier"]["value"] == paula.patient.dod_id
    assert actors["Location"]["display"] == "Family Health, 1 Main St, Fort Test Medical Center"
    assert actors["HealthcareService"]["display"] == "Team Blue"
    assert "Diaz" in actors["Practitioner"]["display"]
    assert mine[f"portal-appointment-{dropped.pk}"]["status"] == "cancelled"
    assert mine[f"portal-appointment-{done.pk}"]["status"] == "fulfilled"
    asked = mine[f"portal-appointment-request-{visits['waiting'].pk}"]
    assert asked["status"] == "proposed" and "start" not in asked
    assert asked["requestedPeriod"][0]["start"].endswith(("-05:00", "-04:00"))
    declined = mine[f"portal-appointment-request-{visits['refused'].pk}"]
    assert declined["status"] == "cancelled"
    assert declined["cancelationReason"]["text"] == "Declined by the clinic: Ask Audiology directly"
    assert "EVE-ONLY" not in json.dumps(bundle) and f"portal-appointment-{visits['eve'].pk}" not in mine


def test_the_pdf_and_the_text_name_the_visits_and_only_paulas(
    signed_in: Any, paula: User, visits: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in(paula)
    words = _download(client, django_capture_on_commit_callbacks, "text").decode()
    assert "Appointments" in words and "Appointment requests" in words
    assert "Where: Family Health, 1 Main St, Fort Test Medical Center" in words
    assert "Visit: Primary care follow-up, in person. Your reason: Sore knee" in words
    assert "Status: Cancelled" in words and "Status: Completed" in words
    assert "Booked: In the portal" in words
    # The EHR's encounter, from the health record.
    assert "Visit: SECRET-migraine check" in words and "Where: Family Health Clinic" in words
    assert "Booked: By the clinic (from your health record)" in words
    assert "Status: Declined. The clinic's reason: Ask Audiology directly" in words
    assert "Behavioral health intake" in words and "Team: Team Blue, Family Health" in words
    assert "EVE-ONLY" not in words
    pdf = b"".join(pdf_pages(_download(client, django_capture_on_commit_callbacks, "pdf")))
    for text in ("Appointments", "Appointment requests", "Hearing test", "Cancelled", "In the portal"):
        assert shown(text) in pdf, text
    assert b"EVE-ONLY" not in pdf


def test_a_range_of_days_keeps_only_the_visits_that_start_in_it(
    signed_in: Any, paula: User, visits: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    """March 8, 2026 holds the EHR's encounter; the bookings and requests fall outside it."""
    words = _download(
        signed_in(paula),
        django_capture_on_commit_callbacks,
        "text",
        starts_on="03/08/2026",
        ends_on="03/08/2026",
    ).decode()
    assert "Visit: SECRET-migraine check" in words
    assert "Sore knee" not in words and "Booked: In the portal" not in words
    assert "Appointment requests" not in words  # none was sent that day
