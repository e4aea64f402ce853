"""Staff reach a patient's record from the thread they answer, or by break-glass, and no other way.

Paula (Team Blue) wrote to her team. Dr. Diaz, on Team Blue, follows the "Health record" link
beside her name on the staff thread page and reads her record. Nora Nolan (Team Gold only)
gets 404 on every page of it until she breaks the glass (emergency care, a few words): then
every page opens, each read's audit event names the grant, and once the grant has expired
every page answers 404 again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.clinics.models import BreakGlassGrant
from portal.messaging.tests.helpers import patient_writes
from portal.records.models import Record
from portal.records.tests.record_data import import_examples

SignIn = Callable[[User], Client]


@pytest.fixture
def record(paula: User, tmp_path: Path) -> User:
    import_examples(paula, tmp_path)
    return paula


def staff_urls(paula: User) -> list[str]:
    prefix = f"/staff/patients/{paula.patient.pk}/record/"
    note = Record.objects.get(fhir_id="latin-note").pk
    panel = Record.objects.get(fhir_id="panel-f").pk
    return [
        prefix,
        f"{prefix}notes/",
        f"{prefix}notes/{note}/",
        f"{prefix}labs/",
        f"{prefix}labs/{panel}/",
        f"{prefix}labs/trend/15074-8/",
        f"{prefix}imaging/",
    ]


def break_the_glass(client: Client) -> BreakGlassGrant:
    form = {
        "dod_id": "9900000001",
        "birth_date": "04/28/1986",
        "reason": "emergency_care",
        "explanation": "Covering the emergency department",
    }
    assert client.post("/staff/privacy/break-glass/", form).status_code == 302
    return BreakGlassGrant.objects.get()


def test_nora_reads_paulas_record_only_under_a_grant_and_each_read_names_it(
    record: User, nurse_nolan: User, signed_in: SignIn
) -> None:
    client = signed_in(nurse_nolan)
    urls = staff_urls(record)
    for url in urls:
        assert client.get(url).status_code == 404, url

    grant = break_the_glass(client)
    for url in urls:
        assert client.get(url).status_code == 200, url
    reads = AuditEvent.objects.filter(actor_id=nurse_nolan.pk, action__startswith="records.")
    assert reads.count() == len(urls)
    assert all(e.details.get("break_glass_grant") == grant.pk for e in reads)
    assert all(e.patient_id == record.patient.pk for e in reads)
    assert "Health record of <strong>Paula Quill</strong>" in client.get(urls[0]).content.decode()

    BreakGlassGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for url in urls:
        assert client.get(url).status_code == 404, url


def test_a_care_team_members_reads_name_no_grant(record: User, dr_diaz: User, signed_in: SignIn) -> None:
    """Dr. Diaz holds a grant for Paula too (she asked needlessly); her team is what opens Paula."""
    from portal.core.acting import Actor
    from portal.privacy.actions import do_break_glass

    do_break_glass(by=Actor(dr_diaz), patient=record.patient, reason="other", explanation="Just in case")
    client = signed_in(dr_diaz)
    for url in staff_urls(record):
        assert client.get(url).status_code == 200, url
    reads = AuditEvent.objects.filter(actor_id=dr_diaz.pk, action__startswith="records.")
    assert reads.count() == 7 and not any("break_glass_grant" in e.details for e in reads)


def test_the_health_record_link_on_a_staff_thread_opens_the_patients_record(
    record: User, world: dict[str, Any], dr_diaz: User, signed_in: SignIn
) -> None:
    thread = patient_writes(record, world["blue"], subject="Results question").thread
    client = signed_in(dr_diaz)
    page = client.get(f"/staff/messages/threads/{thread.pk}/").content.decode()
    links = re.findall(r'<a href="([^"]+)">Health record</a>', page)
    assert links == [f"/staff/patients/{record.patient.pk}/record/"]
    summary = client.get(links[0])
    assert summary.status_code == 200
    assert "Health record of <strong>Paula Quill</strong>" in summary.content.decode()
    assert summary.context["record_patient"] == record.patient


def test_the_thread_link_leads_nora_nowhere(
    record: User, world: dict[str, Any], nurse_nolan: User, signed_in: SignIn
) -> None:
    """Nora cannot open Paula's thread, nor the record its link would lead to."""
    thread = patient_writes(record, world["blue"], subject="Results question").thread
    client = signed_in(nurse_nolan)
    assert client.get(f"/staff/messages/threads/{thread.pk}/").status_code == 404
    assert client.get(f"/staff/patients/{record.patient.pk}/record/").status_code == 404
