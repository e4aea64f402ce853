"""The pharmacy queue: Phil Moss works Fort Test Pharmacy's queue; requests move through their
states, a dispensing lowers the refills left and is exported as a FHIR MedicationDispense, and
Paula gets an e-mail at each change that names no medication (a real SMTP server)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.core.acting import Actor
from portal.core.tests.smtp import Inbox, smtp
from portal.medications import actions
from portal.medications.eligibility import Reason
from portal.medications.models import Fill, RefillRequest
from portal.medications.tests.conftest import MEDS

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["smtp"]


def _request(paula: User, rx: Any, *, delivery: str = "pickup") -> RefillRequest:
    [outcome] = actions.check_request_refills(
        by=Actor(paula), prescription_ids=[rx.pk], delivery=delivery, pharmacy_id=rx.pharmacy_id
    )
    assert outcome.request is not None, outcome.refusal
    return outcome.request


def test_the_queue_lists_oldest_first_with_counts(
    signed_in: Any, paula: User, pharmacist_phil: User, paula_meds: dict, smtp: Inbox
) -> None:
    first = _request(paula, paula_meds["metformin"])
    RefillRequest.objects.filter(pk=first.pk).update(submitted_at=timezone.now() - timedelta(days=2))
    client = signed_in(pharmacist_phil)
    pharmacy = paula_meds["metformin"].pharmacy
    page = client.get(f"/staff/pharmacy/{pharmacy.pk}/").content.decode()
    assert "New (1)" in page and MEDS["metformin"] in page and "Paula Quill" in page
    assert AuditEvent.objects.filter(action="medications.queue_viewed", actor_id=pharmacist_phil.pk).exists()
    assert (
        "In progress (0)" in client.get(f"/staff/pharmacy/{pharmacy.pk}/?status=in_progress").content.decode()
    )


def test_claim_ready_picked_up_dispenses_once_and_tells_paula(  # noqa: PLR0917 - pytest fixtures
    signed_in: Any, paula: User, pharmacist_phil: User, paula_meds: dict, smtp: Inbox, side_channels: Any
) -> None:
    rx = paula_meds["metformin"]
    request = _request(paula, rx)
    client = signed_in(pharmacist_phil)
    url = f"/staff/pharmacy/requests/{request.pk}/"
    assert MEDS["metformin"] in client.get(url).content.decode()
    for to in ("in_progress", "ready"):
        assert client.post(url, {"to": to}).status_code == 302
    request.refresh_from_db()
    assert request.status == "ready" and request.claimed_by == pharmacist_phil
    assert Fill.objects.filter(prescription=rx).count() == 1  # ready is not dispensed
    stale = client.post(url, {"to": "in_progress"})
    assert "This request has moved on" in stale.content.decode()
    client.post(url, {"to": "picked_up"})
    assert Fill.objects.filter(prescription=rx).count() == 2
    answer = actions.answer_for(rx, timezone.now())
    assert answer.refills_remaining == 2  # three allowed, one refill dispensed
    assert not answer.eligible and answer.reason is Reason.TOO_SOON  # type: ignore[union-attr]
    assert len(smtp.messages) == 3
    for email in smtp.messages:
        assert email["To"] == "paula@example.com"
        whole = email.as_string()
        assert "Metformin" not in whole and "metformin" not in whole.lower()
    assert "ready for pick-up" in smtp.messages[1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    moved = AuditEvent.objects.filter(action="medications.refill_moved", object_id=str(request.pk))
    assert [e.details["status"] for e in moved.order_by("pk")] == ["in_progress", "ready", "picked_up"]
    resource = client.get(f"/staff/pharmacy/requests/{request.pk}/dispense.json").json()
    dispense = get_fhir_model_class("MedicationDispense").model_validate(resource)
    assert (
        dispense.status == "completed"
        and resource["authorizingPrescription"][0]["reference"] == "MedicationRequest/rx-metformin"
    )
    assert side_channels.scan([MEDS["metformin"]], clients={"phil": client}) == []


def test_shipping_needs_carrier_number_and_date(
    signed_in: Any, paula: User, pharmacist_phil: User, paula_meds: dict, smtp: Inbox
) -> None:
    request = _request(paula, paula_meds["metformin"], delivery="mail")
    client = signed_in(pharmacist_phil)
    url = f"/staff/pharmacy/requests/{request.pk}/"
    client.post(url, {"to": "in_progress"})
    bad = client.post(
        url, {"to": "shipped", "carrier": "USPS", "tracking_number": "", "shipped_on": "13/45/2026"}
    )
    page = bad.content.decode()
    assert (
        bad.status_code == 400
        and "The month of the day it was shipped must be from 01 to 12" in page
        and 'value="13/45/2026"' in page
        and 'value="USPS"' in page
    )
    client.post(
        url, {"to": "shipped", "carrier": "USPS", "tracking_number": "9400 1", "shipped_on": "12/01/2026"}
    )
    request.refresh_from_db()
    assert (request.status, request.carrier, request.tracking_number) == ("shipped", "USPS", "9400 1")


def test_refusing_needs_a_reason_and_paula_reads_it(
    signed_in: Any, paula: User, pharmacist_phil: User, paula_meds: dict, smtp: Inbox
) -> None:
    request = _request(paula, paula_meds["metformin"])
    client = signed_in(pharmacist_phil)
    url = f"/staff/pharmacy/requests/{request.pk}/"
    assert (
        "Enter the reason the patient will read."
        in client.post(url, {"to": "refused", "reason": " "}).content.decode()
    )
    client.post(url, {"to": "refused", "reason": "Call us about a dose change"})
    request.refresh_from_db()
    assert request.status == "refused" and b"dose change" not in bytes(request.refused_reason)
    client.logout()
    page = signed_in(paula).get("/medications/requests/").content.decode()
    assert "The pharmacy's reason: Call us about a dose change" in page
    assert "dose change" not in smtp.messages[-1].as_string()


def test_a_late_request_gets_one_notice(paula: User, paula_meds: dict, smtp: Inbox) -> None:
    request = _request(paula, paula_meds["metformin"])
    RefillRequest.objects.filter(pk=request.pk).update(submitted_at=timezone.now() - timedelta(days=4))
    assert actions.send_late_notices(timezone.now()) == "late notices: 1"
    assert actions.send_late_notices(timezone.now()) == "late notices: 0"
    assert [m["Subject"] for m in smtp.messages] == ["Your refill request is taking longer than expected"]


def test_the_work_queue_shows_the_pharmacists_queue(
    signed_in: Any, paula: User, pharmacist_phil: User, paula_meds: dict
) -> None:
    _request(paula, paula_meds["metformin"])
    page = signed_in(pharmacist_phil).get("/staff/").content.decode()
    assert "new refill requests at Fort Test Pharmacy" in page
    assert f"/staff/pharmacy/{paula_meds['metformin'].pharmacy_id}/" in page


def test_the_queue_costs_the_same_queries_for_one_request_or_many(
    signed_in: Any, paula: User, pharmacist_phil: User, paula_meds: dict
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = signed_in(pharmacist_phil)
    url = f"/staff/pharmacy/{paula_meds['metformin'].pharmacy_id}/"
    _request(paula, paula_meds["metformin"])
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for key in ("amoxicillin", "lisinopril"):  # made open by hand: the queue shows what is there
        RefillRequest.objects.create(
            prescription=paula_meds[key],
            patient_id=paula_meds[key].patient_id,
            pharmacy_id=paula_meds[key].pharmacy_id,
            delivery="pickup",
        )
    with CaptureQueriesContext(connection) as three:
        assert client.get(url).content.decode().count("/staff/pharmacy/requests/") == 3
    assert len(three) == len(one)


def test_who_looked_at_paula_lists_the_pharmacist_who_opened_the_queue(
    signed_in: Any, paula: User, pharmacist_phil: User, paula_meds: dict
) -> None:
    from io import StringIO

    from django.core.management import call_command

    from portal.audit.reading import events_of

    request = _request(paula, paula_meds["metformin"])
    patient_id = paula_meds["metformin"].patient_id
    signed_in(pharmacist_phil).get(f"/staff/pharmacy/{request.pharmacy_id}/")
    [seen] = [
        e
        for e in events_of(patient_id=patient_id, limit=50)
        if e.actor_id == pharmacist_phil.pk and e.action == "medications.queue_viewed"
    ]
    assert (seen.object_type, seen.object_id) == ("pharmacy", str(request.pharmacy_id))
    assert seen.details["requests"] == [request.pk]  # ids only
    out = StringIO()
    call_command("audit_show", patient=patient_id, stdout=out)
    assert "medications.queue_viewed" in out.getvalue() and f"actor={pharmacist_phil.pk} " in out.getvalue()


@pytest.mark.parametrize("account", ["deactivated", "none"])
def test_no_status_email_to_a_deactivated_account_or_a_patient_without_one(  # noqa: PLR0917 - pytest fixtures
    signed_in: Any, paula: User, pharmacist_phil: User, paula_meds: dict, smtp: Inbox, account: str
) -> None:
    from portal.clinics.models import Patient

    request = _request(paula, paula_meds["metformin"])
    if account == "deactivated":
        User.objects.filter(pk=paula.pk).update(is_active=False)
    else:
        Patient.objects.filter(pk=request.patient_id).update(user=None)
    client = signed_in(pharmacist_phil)
    url = f"/staff/pharmacy/requests/{request.pk}/"
    assert client.post(url, {"to": "in_progress"}).status_code == 302
    assert client.post(url, {"to": "refused", "reason": "Call us"}).status_code == 302
    RefillRequest.objects.filter(pk=request.pk).update(
        status="submitted", submitted_at=timezone.now() - timedelta(days=10)
    )
    assert actions.send_late_notices(timezone.now()) == "late notices: 0"
    assert smtp.messages == []
