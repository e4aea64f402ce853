"""Every medications URL with Paula's ids: Eve (another patient), Nora (another team's nurse),
Alex (administrator) and Olga (another pharmacy's pharmacist) get the same 404 as an id that
does not exist, and the refusal is audited."""

from __future__ import annotations

import re
from typing import Any

import pytest

from portal.audit.models import AuditEvent
from portal.core.acting import Actor
from portal.medications import actions
from portal.medications.models import RefillRequest, RenewalRequest

MISSING = 987654


@pytest.fixture
def paulas_ids(paula: Any, paula_meds: dict, pharmacy: Any, world: Any) -> dict[str, int]:
    [outcome] = actions.check_request_refills(
        by=Actor(paula),
        prescription_ids=[paula_meds["metformin"].pk],
        delivery="pickup",
        pharmacy_id=pharmacy.pk,
    )
    assert outcome.request is not None
    renewal = actions.check_request_renewal(
        by=Actor(paula), prescription_id=paula_meds["lisinopril"].pk, note=""
    )
    return {
        "rx": paula_meds["metformin"].pk,
        "renewable": paula_meds["amoxicillin"].pk,
        "request": outcome.request.pk,
        "renewal": renewal.pk,
        "pharmacy": pharmacy.pk,
    }


def urls(ids: dict[str, int]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("get", f"/medications/{ids['renewable']}/renew/", {}),
        ("post", f"/medications/{ids['renewable']}/renew/", {"note": "x"}),
        ("post", "/medications/refill/", {"prescriptions": [ids["rx"]], "delivery": "mail"}),
        ("get", f"/staff/pharmacy/{ids['pharmacy']}/", {}),
        ("get", f"/staff/pharmacy/requests/{ids['request']}/", {}),
        ("post", f"/staff/pharmacy/requests/{ids['request']}/", {"to": "in_progress"}),
        ("post", f"/staff/pharmacy/requests/{ids['request']}/", {"to": "refused", "reason": "no"}),
        ("get", f"/staff/pharmacy/requests/{ids['request']}/dispense.json", {}),
        ("get", f"/staff/medications/renewals/{ids['renewal']}/", {}),
        ("post", f"/staff/medications/renewals/{ids['renewal']}/", {"answer": "declined"}),
    ]


@pytest.mark.parametrize("who", ["eve", "nurse_nolan", "admin_adams", "pharmacist_olga"])
def test_nobody_else_reaches_paulas_medications(
    request: Any, signed_in: Any, paulas_ids: dict, who: str
) -> None:
    user = request.getfixturevalue(who)
    client = signed_in(user)
    missing = dict.fromkeys(paulas_ids, MISSING)
    for (method, url, data), (_, missing_url, missing_data) in zip(
        urls(paulas_ids), urls(missing), strict=True
    ):
        answer = getattr(client, method)(url, data)
        if url == "/medications/refill/" and who == "eve":
            # Eve's own form: Paula's prescription is not one of hers to choose.
            assert answer.status_code == 400 and b"Metformin" not in answer.content, url
            continue
        assert answer.status_code == 404, (who, method, url)
        assert getattr(client, method)(missing_url, missing_data).status_code == 404
    assert RefillRequest.objects.get().status == "submitted"
    assert RenewalRequest.objects.get().status == "open"
    assert AuditEvent.objects.filter(action="access.denied", actor_id=user.pk).exists()


def test_paulas_own_pages_work_and_her_care_team_cannot_work_the_pharmacy(
    signed_in: Any, paula: Any, dr_diaz: Any, paulas_ids: dict
) -> None:
    client = signed_in(paula)
    for url in (
        "/medications/",
        "/medications/past/",
        "/medications/requests/",
        f"/medications/{paulas_ids['renewable']}/renew/",
    ):
        assert client.get(url).status_code == 200, url
    for url in (
        f"/staff/pharmacy/{paulas_ids['pharmacy']}/",
        f"/staff/medications/renewals/{paulas_ids['renewal']}/",
    ):
        assert client.get(url).status_code == 404, url
    client.logout()
    diaz = signed_in(dr_diaz)
    assert diaz.get(f"/staff/medications/renewals/{paulas_ids['renewal']}/").status_code == 200
    assert diaz.get(f"/staff/pharmacy/{paulas_ids['pharmacy']}/").status_code == 404
    assert diaz.get(f"/staff/pharmacy/requests/{paulas_ids['request']}/").status_code == 404


def test_nothing_of_paulas_medications_leaks(
    signed_in: Any, paula: Any, paulas_ids: dict, side_channels: Any
) -> None:
    client = signed_in(paula)
    for url in ("/medications/", "/medications/past/", "/medications/requests/"):
        client.get(url)
    markers = ["Metformin 500 MG", "Lisinopril 10 MG", "Stopped for low sodium", "metformin tablet by mouth"]
    assert side_channels.scan(markers, clients={"paula": client}) == []


def _untokened(response: Any) -> str:
    """A page without its CSRF token (a new one each time)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def test_a_patient_who_left_the_team_is_out_of_reach_of_its_renewals(
    signed_in: Any, nurse_baker: Any, paulas_ids: dict, world: Any
) -> None:
    from portal.clinics.models import PatientCareTeam

    renewal = RenewalRequest.objects.get(pk=paulas_ids["renewal"])
    assert renewal.care_team == world["blue"]
    client = signed_in(nurse_baker)
    url = f"/staff/medications/renewals/{renewal.pk}/"
    assert client.get(url).status_code == 200
    PatientCareTeam.objects.filter(patient_id=renewal.patient_id, care_team=world["blue"]).delete()
    missing = client.get(f"/staff/medications/renewals/{MISSING}/")
    for answer in (client.get(url), client.post(url, {"answer": "declined"})):
        assert (answer.status_code, _untokened(answer)) == (404, _untokened(missing))
    assert RenewalRequest.objects.get(pk=renewal.pk).status == "open"
    assert AuditEvent.objects.filter(
        action="access.denied", actor_id=nurse_baker.pk, object_id=str(renewal.pk)
    ).exists()


def test_a_pharmacist_who_left_the_pharmacy_is_out_of_reach_of_its_queue(
    signed_in: Any, pharmacist_phil: Any, paulas_ids: dict
) -> None:
    from portal.medications.models import PharmacyStaff

    client = signed_in(pharmacist_phil)
    queue, request = (
        f"/staff/pharmacy/{paulas_ids['pharmacy']}/",
        f"/staff/pharmacy/requests/{paulas_ids['request']}/",
    )
    assert client.get(queue).status_code == 200 and client.get(request).status_code == 200
    PharmacyStaff.objects.filter(staff_member__user=pharmacist_phil).delete()
    for method, url, data in [
        ("get", queue, {}),
        ("get", request, {}),
        ("post", request, {"to": "in_progress"}),
        ("get", f"{request}dispense.json", {}),
    ]:
        assert getattr(client, method)(url, data).status_code == 404, url
    assert RefillRequest.objects.get().status == "submitted"
