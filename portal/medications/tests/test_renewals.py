"""A renewal reaches the prescriber's care team as a secure message of category Medication,
and the team's answer is shown to Paula (Dr. Diaz is on Team Blue, Paula's team)."""

from __future__ import annotations

from typing import Any

from django.core import mail

from portal.audit.models import AuditEvent
from portal.medications.models import RenewalRequest
from portal.messaging.models import Thread
from portal.vault.crypto import keyring


def test_a_renewal_opens_a_medication_conversation_in_the_team_pool(
    signed_in: Any, paula: Any, paula_meds: dict, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    lisinopril = paula_meds["lisinopril"]
    client = signed_in(paula)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/medications/{lisinopril.pk}/renew/", {"note": "Blood pressure fine at home"}
        )
    assert response.status_code == 302
    renewal = RenewalRequest.objects.get()
    thread = Thread.objects.get(pk=renewal.thread_id)
    assert (thread.care_team, thread.category, thread.patient_id) == (
        world["blue"],
        "medication",
        lisinopril.patient_id,
    )
    assert (thread.about_kind, thread.about_id) == ("renewal_request", renewal.pk)
    assert keyring(thread.patient_id).open_text(thread, "subject") == "Renewal request"  # names no medication
    assert AuditEvent.objects.filter(
        action="medications.renewal_requested", object_id=str(renewal.pk)
    ).exists()
    again = client.post(f"/medications/{lisinopril.pk}/renew/", {"note": ""})
    assert "A renewal request is already waiting for your care team." in again.content.decode()
    assert RenewalRequest.objects.count() == 1 and Thread.objects.count() == 1
    page = client.get("/medications/requests/").content.decode()
    assert "Waiting for Team Blue" in page


def test_the_care_team_answers_and_paula_sees_it(
    signed_in: Any, paula: Any, dr_diaz: Any, paula_meds: dict, django_capture_on_commit_callbacks: Any
) -> None:
    patient = signed_in(paula)
    patient.post(f"/medications/{paula_meds['amoxicillin'].pk}/renew/", {"note": ""})
    renewal = RenewalRequest.objects.get()
    patient.logout()
    diaz = signed_in(dr_diaz)
    page = diaz.get(f"/staff/medications/renewals/{renewal.pk}/").content.decode()
    assert "Amoxicillin 500 MG Oral Capsule" in page
    empty = diaz.post(f"/staff/medications/renewals/{renewal.pk}/", {})
    assert "Choose an answer: renewed, needs a visit, or declined." in empty.content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        diaz.post(f"/staff/medications/renewals/{renewal.pk}/", {"answer": "needs_visit"})
    renewal.refresh_from_db()
    assert renewal.status == "needs_visit" and renewal.answered_by == dr_diaz
    assert AuditEvent.objects.filter(
        action="medications.renewal_answered", object_id=str(renewal.pk)
    ).exists()
    diaz.logout()
    page = signed_in(paula).get("/medications/requests/").content.decode()
    assert "Your care team needs to see you first" in page


def test_a_refillable_prescription_cannot_be_renewed(signed_in: Any, paula: Any, paula_meds: dict) -> None:
    response = signed_in(paula).post(
        f"/medications/{paula_meds['metformin'].pk}/renew/", {"note": "kept text"}
    )
    page = response.content.decode()
    assert response.status_code == 400 and "cannot be renewed online" in page and "kept text" in page
    assert not RenewalRequest.objects.exists()
