"""A renewal reaches the prescriber's own care team, found by the NPI the EHR names them by.

Paula is a patient of Team Blue (her first team) and of Team Gold. Two staff members are
both called Dana Diaz: Dr. Diaz of Team Gold carries NPI 9990000201 (the EHR's prescriber);
the other Dana Diaz is a nurse of Team Blue with no NPI. A name never decides the team.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError
from django.test import Client

from conftest import make_staff
from portal.clinics.models import PatientCareTeam, StaffMember
from portal.medications.models import Prescription, RenewalRequest
from portal.medications.tests.conftest import import_bundle, prescription
from portal.messaging.models import Thread
from portal.records.tests.helpers import patient

NPI = "9990000201"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"


@pytest.fixture
def two_dana_diazes(paula: Any, pharmacy: Any, world: dict[str, Any]) -> dict[str, StaffMember]:
    PatientCareTeam.objects.create(patient=paula.patient_record, care_team=world["gold"])
    prescriber = make_staff(
        username="dr.diaz.gold", first="Dana", last="Diaz", role="physician", teams=[world["gold"]]
    ).staff_record
    assert prescriber is not None
    prescriber.npi = NPI
    prescriber.save(update_fields=["npi"])
    namesake = make_staff(
        username="rn.diaz.blue", first="Dana", last="Diaz", role="nurse", teams=[world["blue"]]
    )
    assert namesake.staff_record is not None
    return {"prescriber": prescriber, "namesake": namesake.staff_record}


def practitioner(npi: str = NPI) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": "ehr-dr-diaz",
        "identifier": [{"system": NPI_SYSTEM, "value": npi}],
        "name": [{"family": "Diaz", "given": ["Dana"], "prefix": ["Dr."]}],
    }


def amoxicillin(requester: dict[str, Any]) -> dict[str, Any]:
    """Expired 30 days ago: a renewal is offered."""
    return prescription("amoxicillin", written=-200, expires=-30, repeats=1, requester=requester)


def paula_with(*resources: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        patient("paula", dod_id="9900000001", family="Quill"),
        {"resourceType": "Organization", "id": "fort-pharmacy", "name": "Fort Test Pharmacy"},
        *resources,
    ]


def renew(client: Client, rx: Prescription) -> Thread:
    response = client.post(f"/medications/{rx.pk}/renew/", {"note": ""})
    assert response.status_code == 302, response.content[:400]
    renewal = RenewalRequest.objects.get(prescription=rx)
    thread = Thread.objects.get(pk=renewal.thread_id)
    assert thread.care_team_id == renewal.care_team_id
    return thread


def test_a_renewal_of_a_linked_prescribers_prescription_reaches_their_team(
    signed_in: Any, paula: Any, world: Any, two_dana_diazes: dict, tmp_path: Path
) -> None:
    """The requester is the bundle's Practitioner with Dr. Diaz's NPI: Team Gold, not Paula's
    first team (Blue), and not the Team Blue nurse who shares her name."""
    import_bundle(
        tmp_path, paula_with(practitioner(), amoxicillin({"reference": "Practitioner/ehr-dr-diaz"}))
    )
    rx = Prescription.objects.get(fhir_id="rx-amoxicillin")
    assert (rx.prescriber, rx.prescriber_npi, rx.care_team) == ("Dr. Dana Diaz", NPI, world["gold"])
    client = signed_in(paula)
    assert "goes to your care team (Team Gold)" in client.get(f"/medications/{rx.pk}/renew/").content.decode()
    assert renew(client, rx).care_team == world["gold"]


def test_a_practitioner_kept_from_an_earlier_bundle_is_found_by_a_conditional_reference(
    signed_in: Any, paula: Any, world: Any, two_dana_diazes: dict, tmp_path: Path
) -> None:
    """Synthea's way: the directory comes first, then the patient's bundle names the prescriber
    as `Practitioner?identifier=<NPI system>|<NPI>`; or a later bundle as `Practitioner/<id>`."""
    import_bundle(tmp_path, [practitioner()])
    conditional = {"reference": f"Practitioner?identifier={NPI_SYSTEM}|{NPI}", "display": "Dr. Dana Diaz"}
    import_bundle(tmp_path, paula_with(amoxicillin(conditional)))
    assert Prescription.objects.get(fhir_id="rx-amoxicillin").care_team == world["gold"]
    literal = prescription("metformin", requester={"reference": "Practitioner/ehr-dr-diaz"})
    import_bundle(tmp_path, paula_with(literal))
    assert Prescription.objects.get(fhir_id="rx-metformin").care_team == world["gold"]


def test_the_same_name_without_the_npi_goes_to_the_patients_first_team(
    paula: Any, pharmacy: Any, world: Any, two_dana_diazes: dict, tmp_path: Path
) -> None:
    """A requester named Dana Diaz with no identifier, or with an NPI no staff member has, is
    nobody the portal knows: Paula's first team (Blue) takes it, whoever is called Dana Diaz."""
    by_name = prescription("metformin", requester={"display": "Dr. Dana Diaz"})
    unknown = dict(practitioner("9990000999"), id="ehr-other-diaz")
    by_unknown_npi = prescription("atorvastatin", requester={"reference": "Practitioner/ehr-other-diaz"})
    import_bundle(tmp_path, paula_with(by_name, unknown, by_unknown_npi))
    for key in ("metformin", "atorvastatin"):
        assert Prescription.objects.get(fhir_id=f"rx-{key}").care_team == world["blue"]


def test_a_link_the_operator_sets_after_the_import_counts_at_the_next_renewal(
    signed_in: Any, paula: Any, world: Any, two_dana_diazes: dict, tmp_path: Path
) -> None:
    """Imported while no staff member had the NPI (Blue, Paula's first team); once an operator
    gives it to Dr. Diaz, the renewal page and the renewal say Team Gold."""
    two_dana_diazes["prescriber"].npi = ""
    two_dana_diazes["prescriber"].save(update_fields=["npi"])
    import_bundle(
        tmp_path, paula_with(practitioner(), amoxicillin({"reference": "Practitioner/ehr-dr-diaz"}))
    )
    rx = Prescription.objects.get(fhir_id="rx-amoxicillin")
    assert rx.care_team == world["blue"]
    two_dana_diazes["prescriber"].npi = NPI
    two_dana_diazes["prescriber"].save(update_fields=["npi"])
    client = signed_in(paula)
    assert "(Team Gold)" in client.get(f"/medications/{rx.pk}/renew/").content.decode()
    assert renew(client, rx).care_team == world["gold"]
    rx.refresh_from_db()
    assert rx.care_team == world["gold"]


def test_a_prescribers_team_paula_is_not_on_is_never_chosen(
    signed_in: Any, paula: Any, world: Any, two_dana_diazes: dict, tmp_path: Path
) -> None:
    """Dr. Diaz moves to the IM Team, which is not Paula's: her renewal goes to her first team."""
    prescriber = two_dana_diazes["prescriber"]
    prescriber.memberships.all().delete()
    prescriber.memberships.create(care_team=world["im"])
    import_bundle(
        tmp_path, paula_with(practitioner(), amoxicillin({"reference": "Practitioner/ehr-dr-diaz"}))
    )
    rx = Prescription.objects.get(fhir_id="rx-amoxicillin")
    assert rx.care_team == world["blue"]
    assert renew(signed_in(paula), rx).care_team == world["blue"]


def test_two_staff_members_cannot_share_an_npi(two_dana_diazes: dict) -> None:
    namesake = two_dana_diazes["namesake"]
    namesake.npi = NPI
    with pytest.raises(IntegrityError):
        namesake.save(update_fields=["npi"])
