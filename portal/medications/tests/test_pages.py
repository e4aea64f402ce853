"""Paula's medication pages: the list tells her up front what she can refill and why not;
a multi-refill request answers for each prescription; she tracks what she asked."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.medications.models import Fill, Prescription, RefillRequest
from portal.medications.tests.conftest import MEDS
from portal.vault.crypto import keyring


def test_the_list_shows_each_active_prescription_with_why_not(
    signed_in: Any, paula: Any, paula_meds: dict
) -> None:
    page = signed_in(paula).get("/medications/").content.decode()
    for key in ("metformin", "atorvastatin", "lisinopril", "amoxicillin", "oxycodone", "sertraline"):
        assert MEDS[key] in page
    assert MEDS["hydrochlorothiazide"] not in page  # past: on the other tab
    assert f'id="refill-{paula_meds["metformin"].pk}"' in page  # refillable: a checkbox
    assert f'id="refill-{paula_meds["atorvastatin"].pk}"' not in page
    assert "It is too soon to refill: you can ask from" in page
    assert "No refills are left." in page and "This prescription has expired." in page
    assert "A controlled substance cannot be refilled online" in page
    assert "not filled by a military pharmacy" in page
    assert f"/medications/{paula_meds['lisinopril'].pk}/renew/" in page  # renewal offered
    assert f"/medications/{paula_meds['amoxicillin'].pk}/renew/" in page
    assert "Dana Diaz, MD" in page and "Fort Test Pharmacy" in page
    assert "#allergies" in page  # allergies: the link to the record's list, above
    assert AuditEvent.objects.filter(action="medications.list_viewed", actor_id=paula.pk).exists()


def test_the_past_tab_says_when_and_why_they_ended(signed_in: Any, paula: Any, paula_meds: dict) -> None:
    page = signed_in(paula).get("/medications/past/").content.decode()
    assert MEDS["hydrochlorothiazide"] in page and "Stopped for low sodium" in page
    assert MEDS["ibuprofen"] in page and "Completed" in page
    assert MEDS["metformin"] not in page


def test_a_multi_refill_answers_for_each_one(
    signed_in: Any, paula: Any, paula_meds: dict, pharmacy: Any
) -> None:
    client = signed_in(paula)
    chosen = [paula_meds["metformin"].pk, paula_meds["atorvastatin"].pk]
    response = client.post(
        "/medications/refill/", {"prescriptions": chosen, "delivery": "pickup", "pharmacy": pharmacy.pk}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert f"{MEDS['metformin']}:</strong> submitted" in page
    assert f"{MEDS['atorvastatin']}:</strong> not sent. It is too soon to refill" in page
    request = RefillRequest.objects.get()
    assert (request.prescription, request.status, request.pharmacy) == (
        paula_meds["metformin"],
        "submitted",
        pharmacy,
    )
    assert AuditEvent.objects.filter(
        action="medications.refill_requested", object_id=str(request.pk)
    ).exists()
    assert Fill.objects.filter(prescription=paula_meds["metformin"]).count() == 1  # requested, not dispensed
    again = client.post(
        "/medications/refill/", {"prescriptions": chosen[:1], "delivery": "pickup", "pharmacy": pharmacy.pk}
    )
    assert "A refill is already in progress" in again.content.decode()
    assert RefillRequest.objects.count() == 1
    tracking = client.get("/medications/requests/").content.decode()
    assert MEDS["metformin"] in tracking and "Submitted" in tracking


def test_bad_input_is_said_and_the_choice_kept(signed_in: Any, paula: Any, paula_meds: dict) -> None:
    client = signed_in(paula)
    metformin = paula_meds["metformin"].pk
    response = client.post("/medications/refill/", {"prescriptions": [metformin], "delivery": "pickup"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Choose the military pharmacy where you will pick up." in page
    assert f'value="{metformin}" checked' in page
    nothing = client.post("/medications/refill/", {"delivery": "mail"})
    assert "Choose at least one prescription to refill." in nothing.content.decode()
    assert RefillRequest.objects.count() == 0


def test_mail_order_goes_to_the_prescriptions_pharmacy(signed_in: Any, paula: Any, paula_meds: dict) -> None:
    signed_in(paula).post(
        "/medications/refill/", {"prescriptions": [paula_meds["metformin"].pk], "delivery": "mail"}
    )
    request = RefillRequest.objects.get()
    assert request.delivery == "mail" and request.pharmacy == paula_meds["metformin"].pharmacy


def test_the_list_costs_the_same_queries_for_many_prescriptions(
    signed_in: Any, paula: Any, paula_meds: dict, pharmacy: Any
) -> None:
    client = signed_in(paula)
    client.get("/medications/")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/medications/").status_code == 200
    ring = keyring(paula.patient_record.pk)
    for rx in paula_meds.values():
        copy = Prescription.objects.get(pk=rx.pk)
        copy.pk, copy.fhir_id, copy.row_key = None, rx.fhir_id + "-copy", uuid.uuid4()
        for field in ("name", "strength_form", "instructions", "end_reason"):
            ring.seal_text(copy, field, ring.open_text(rx, field))
        copy.save()
        Fill.objects.create(prescription=copy, handed_over_at=timezone.now(), days_supply=30)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/medications/").status_code == 200
    # The session, the user, the list's one statement, the keyring, the audit event (two
    # statements on SQLite), the pick-up pharmacies, the menu's unread count, the session's save.
    assert len(many) == len(few) <= 11


def test_the_first_page_shows_the_ten_newest_and_show_all_shows_every_one(
    signed_in: Any, paula: Any, paula_meds: dict
) -> None:
    ring = keyring(paula.patient_record.pk)
    for rx in paula_meds.values():  # 6 more active ones: 12 in all, and 4 past
        copy = Prescription.objects.get(pk=rx.pk)
        copy.pk, copy.fhir_id, copy.row_key = None, rx.fhir_id + "-copy", uuid.uuid4()
        for field in ("name", "strength_form", "instructions", "end_reason"):
            ring.seal_text(copy, field, ring.open_text(rx, field))
        copy.save()
    card = 'class="usa-card tablet:grid-col-12"'
    client = signed_in(paula)
    client.get("/help/")
    with CaptureQueriesContext(connection) as first_page:
        first = client.get("/medications/").content.decode()
    assert first.count(card) == 10
    assert "These are your 10 newest prescriptions." in first and 'href="/medications/?all=1"' in first
    with CaptureQueriesContext(connection) as every_one:
        everything = client.get("/medications/?all=1").content.decode()
    assert everything.count(card) == 12 and "?all=1" not in everything
    assert len(first_page) == len(every_one)
    past = client.get("/medications/past/").content.decode()
    assert past.count(card) == 4 and "Show all past medications" not in past


def test_what_the_ehr_wrote_is_shown_as_text_never_as_markup(
    signed_in: Any, paula: Any, paula_meds: dict
) -> None:
    """A name, instructions or prescriber holding markup (the EHR's text is not ours) is
    shown escaped on both tabs, never run as the page's own HTML."""
    ring = keyring(paula.patient_record.pk)
    markup = '<img src=x onerror="alert(1)">'
    for key in ("metformin", "hydrochlorothiazide"):
        rx = paula_meds[key]
        for field in ("name", "strength_form", "instructions", "end_reason"):
            ring.seal_text(rx, field, f"{field} {markup}")
        rx.prescriber = f"Dr. {markup}"
        rx.save()
    escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    client = signed_in(paula)
    for url, shown in (("/medications/?all=1", 4), ("/medications/past/", 5)):
        page = client.get(url).content.decode()
        assert markup not in page
        assert page.count(escaped) >= shown, url  # name, strength, instructions, prescriber (, why)
