"""Break-glass: the one way in to a patient outside one's teams, for a stated reason, for a while.

Paula is a patient of Team Blue with a conversation. Nora Nolan is a nurse on
Team Gold only: she cannot see Paula until she states why (emergency care, and
a few words), and then only Paula, only until the grant expires. Alex Adams, an
administrator, may not break the glass at all. Olive Oakes is the privacy
officer: she reviews every use, reads the words Nora wrote (kept sealed under
Paula's data key, never in the audit log), and her review is audited too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import make_staff
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.clinics.access import access_patient, patients_visible_to
from portal.clinics.models import BreakGlassGrant
from portal.core.acting import Denied
from portal.messaging.access import threads_visible_to
from portal.messaging.models import Thread
from portal.messaging.tests.helpers import patient_writes
from portal.vault.testing import isolated_vault

pytestmark = pytest.mark.django_db
__all__ = ["isolated_vault"]
WORDS = "Found collapsed in the waiting room"


@pytest.fixture(autouse=True)
def _own_vault(isolated_vault: Path) -> Path:
    return isolated_vault


@pytest.fixture
def olive(world: dict[str, Any]) -> User:
    return make_staff(username="olive.oakes", first="Olive", last="Oakes", role="privacy_officer", teams=[])


@pytest.fixture
def paulas_thread(paula: User, world: dict[str, Any]) -> Thread:
    return patient_writes(paula, world["blue"], subject="Chest pain at night").thread


def _form(**changes: str) -> dict[str, str]:
    data = {
        "dod_id": "9900000001",
        "birth_date": "04/28/1986",
        "reason": "emergency_care",
        "explanation": WORDS,
    }
    data.update(changes)
    return data


def test_nora_sees_paula_only_after_stating_why(
    paulas_thread: Thread, paula: User, nurse_nolan: User, signed_in: Callable[[User], Client]
) -> None:
    client = signed_in(nurse_nolan)
    patient_id = paula.patient.pk
    assert client.get(f"/staff/messages/threads/{paulas_thread.pk}/").status_code == 404
    assert client.get(f"/staff/messages/patients/{patient_id}/").status_code == 404

    response = client.post("/staff/privacy/break-glass/", _form())
    assert response.status_code == 302
    assert response["Location"] == f"/staff/messages/patients/{patient_id}/"
    page = client.get(response["Location"]).content.decode()
    assert "Chest pain at night" in page and "Every page you open is recorded" in page
    assert client.get(f"/staff/messages/threads/{paulas_thread.pk}/").status_code == 200

    grant = BreakGlassGrant.objects.get()
    assert (grant.staff_user_id, grant.patient_id, grant.reason) == (
        nurse_nolan.pk,
        patient_id,
        "emergency_care",
    )
    assert grant.expires_at - grant.granted_at == timedelta(minutes=60)
    assert WORDS.encode() not in bytes(grant.explanation)
    event = AuditEvent.objects.get(action="break_glass.granted")
    assert (event.actor_id, event.patient_id, event.object_id) == (nurse_nolan.pk, patient_id, str(grant.pk))
    assert event.details == {"reason": "emergency_care", "minutes": 60}
    every_detail = json.dumps(list(AuditEvent.objects.values_list("details", flat=True)))
    assert "collapsed" not in every_detail


def test_the_grant_opens_that_patient_only_and_ends_by_itself(
    paulas_thread: Thread, paula: User, eve: User, nurse_nolan: User, settings: Any
) -> None:
    settings.PORTAL_BREAK_GLASS_MINUTES = 15
    from portal.core.acting import Actor
    from portal.privacy.actions import do_break_glass

    grant = do_break_glass(by=Actor(nurse_nolan), patient=paula.patient, reason="other", explanation=WORDS)
    assert grant.expires_at - grant.granted_at == timedelta(minutes=15)
    assert set(patients_visible_to(nurse_nolan)) == {paula.patient, eve.patient}
    assert list(threads_visible_to(nurse_nolan)) == [paulas_thread]
    # Eve's thread with Team Gold stays Nora's by her team; nobody else's opens.
    BreakGlassGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert paula.patient not in set(patients_visible_to(nurse_nolan))
    assert list(threads_visible_to(nurse_nolan)) == []
    with pytest.raises(Denied):
        access_patient(nurse_nolan, paula.patient.pk)


def test_a_patient_on_ones_own_team_needs_no_grant(
    paula: User, dr_diaz: User, signed_in: Callable[[User], Client]
) -> None:
    response = signed_in(dr_diaz).post("/staff/privacy/break-glass/", _form())
    assert response["Location"] == f"/staff/messages/patients/{paula.patient.pk}/"
    assert not BreakGlassGrant.objects.exists()


def test_no_match_is_said_in_words_keeps_what_was_typed_and_is_audited(
    paula: User, nurse_nolan: User, signed_in: Callable[[User], Client]
) -> None:
    response = signed_in(nurse_nolan).post("/staff/privacy/break-glass/", _form(birth_date="04/29/1986"))
    html = response.content.decode()
    assert response.status_code == 400
    assert "No patient matches that DoD ID number and date of birth" in html
    assert 'value="9900000001"' in html and WORDS in html
    assert not BreakGlassGrant.objects.exists()
    assert AuditEvent.objects.filter(action="break_glass.no_match", actor_id=nurse_nolan.pk).exists()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [("reason", "", "Choose the reason"), ("explanation", " ", "Say in a few words")],
)
@pytest.mark.usefixtures("paula")
def test_a_reason_code_and_words_are_both_required(
    nurse_nolan: User, signed_in: Callable[[User], Client], field: str, value: str, words: str
) -> None:
    response = signed_in(nurse_nolan).post("/staff/privacy/break-glass/", _form(**{field: value}))
    assert response.status_code == 400 and words in response.content.decode()
    assert not BreakGlassGrant.objects.exists()


def test_an_administrator_cannot_break_the_glass(
    paula: User, admin_adams: User, signed_in: Callable[[User], Client]
) -> None:
    client = signed_in(admin_adams)
    assert "do not open patients' records" in client.get("/staff/privacy/break-glass/").content.decode()
    response = client.post("/staff/privacy/break-glass/", _form())
    assert response.status_code == 400 and "do not open patients" in response.content.decode()
    assert not BreakGlassGrant.objects.exists()
    assert client.get(f"/staff/messages/patients/{paula.patient.pk}/").status_code == 404


def test_a_patient_cannot_reach_the_page(eve: User, signed_in: Callable[[User], Client]) -> None:
    assert signed_in(eve).get("/staff/privacy/break-glass/").status_code == 404


@pytest.mark.usefixtures("paulas_thread")
def test_the_privacy_officer_reviews_every_use_and_her_review_is_audited(
    paula: User,
    nurse_nolan: User,
    olive: User,
    client: Client,
    signed_in: Callable[[User], Client],
) -> None:
    signed_in(nurse_nolan).post("/staff/privacy/break-glass/", _form())
    assert client.get("/staff/privacy/break-glass/review/").status_code == 404  # Nora is no reviewer
    client.logout()
    page = signed_in(olive).get("/staff/privacy/break-glass/review/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Nora Nolan" in html and "Paula Quill" in html and "Emergency care" in html
    assert WORDS in html and "60 minutes" in html
    grant = BreakGlassGrant.objects.get()
    event = AuditEvent.objects.get(action="break_glass.reviewed")
    assert (event.actor_id, event.details) == (olive.pk, {"grants": [grant.pk]})
    # A privacy officer reviews; she opens no patient herself.
    assert client.get(f"/staff/messages/patients/{paula.patient.pk}/").status_code == 404
