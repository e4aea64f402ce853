"""Every appointments URL answers 404 to whoever may not see it, as for a missing id.

Paula Quill is a patient of Team Blue and holds a booking and a request. Eve Vance (Team
Gold's patient), Nora Nolan (Team Gold's nurse) and Alex Adams (administrator) get the same
404 as for an id that does not exist, on every URL; Dr. Diaz (Team Blue) sees Paula's team."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.accounts.models import User
from portal.appointments import actions
from portal.appointments.models import AppointmentType, WaitlistOffer
from portal.appointments.slots import open_slots
from portal.appointments.tests.helpers import offer_visits
from portal.audit.models import AuditEvent
from portal.core.acting import Actor

pytestmark = pytest.mark.django_db

MISSING = 999_999


@pytest.fixture
def paulas(world: dict[str, Any], paula: User) -> dict[str, Any]:
    kind = offer_visits(world["blue"])
    team = world["blue"]
    slot = open_slots(team.pk, kind.pk).filter(starts_at__gte=timezone.now() + timedelta(days=3)).first()
    booked = actions.check_book(
        by=Actor(paula), team_id=team.pk, type_id=kind.pk, slot_id=slot.pk, reason="MARKER-knee"
    )
    request_only = AppointmentType.objects.get(name="Behavioral health intake")
    asked = actions.check_request(
        by=Actor(paula),
        team_id=team.pk,
        type_id=request_only.pk,
        preferences=[actions.Preference(timezone.localdate() + timedelta(days=10), "morning")],
        reason="MARKER-sad",
    )
    earlier = open_slots(team.pk, kind.pk).filter(starts_at__lt=slot.starts_at).first()
    offer = WaitlistOffer.objects.create(
        appointment=booked,
        slot=earlier,
        offered_at=timezone.now(),
        expires_at=timezone.now() + timedelta(minutes=30),
    )
    return {
        "team": team,
        "kind": kind,
        "slot": slot,
        "booked": booked,
        "request": asked,
        "template": kind.templates.get(),
        "offer": offer,
    }


def patient_urls(ids: dict[str, Any]) -> list[tuple[str, str]]:
    team, kind, slot, booked = ids["team"], ids["kind"], ids["slot"], ids["booked"]
    return [
        ("get", f"/appointments/schedule/{team}/"),
        ("get", f"/appointments/schedule/{team}/{kind}/"),
        ("get", f"/appointments/schedule/{team}/{kind}/{slot}/"),
        ("get", f"/appointments/request/{team}/{kind}/"),
        ("get", f"/appointments/{booked}/"),
        ("get", f"/appointments/{booked}/calendar.ics"),
        ("get", f"/appointments/{booked}/cancel/"),
        ("post", f"/appointments/{booked}/cancel/"),
        ("get", f"/appointments/{booked}/reschedule/"),
        ("post", f"/appointments/{booked}/preferences/"),
        ("get", f"/appointments/offers/{ids['offer']}/"),
        ("post", f"/appointments/offers/{ids['offer']}/"),
    ]


def staff_urls(ids: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("get", f"/staff/appointments/teams/{ids['team']}/"),
        ("get", f"/staff/appointments/teams/{ids['team']}/templates/new/"),
        ("post", f"/staff/appointments/teams/{ids['team']}/block/"),
        ("get", f"/staff/appointments/teams/{ids['team']}/book/"),
        ("post", f"/staff/appointments/teams/{ids['team']}/templates/new/"),
        ("post", f"/staff/appointments/bookings/{ids['booked']}/mark/"),
        ("get", f"/staff/appointments/requests/{ids['request']}/"),
        ("get", f"/staff/appointments/teams/{ids['team']}/templates/{ids['template']}/"),
        ("post", f"/staff/appointments/teams/{ids['team']}/templates/{ids['template']}/"),
    ]


def _ids(paulas: dict[str, Any]) -> dict[str, Any]:
    return {
        "team": paulas["team"].pk,
        "kind": paulas["kind"].pk,
        "slot": paulas["slot"].pk,
        "booked": paulas["booked"].pk,
        "request": paulas["request"].pk,
        "template": paulas["template"].pk,
        "offer": paulas["offer"].pk,
    }


@pytest.mark.parametrize("who", ["eve", "nurse_nolan", "admin_adams"])
def test_everyone_else_gets_the_404_of_a_missing_id(
    who: str, request: pytest.FixtureRequest, paulas: dict[str, Any], signed_in: Any
) -> None:
    client = signed_in(request.getfixturevalue(who))
    real = _ids(paulas)
    missing = dict.fromkeys(real, MISSING)
    for (method, url), (_, absent) in zip(
        patient_urls(real) + staff_urls(real), patient_urls(missing) + staff_urls(missing), strict=True
    ):
        assert getattr(client, method)(url).status_code == 404, url
        assert getattr(client, method)(absent).status_code == 404, absent
    assert paulas["booked"].__class__.objects.get(pk=real["booked"]).status == "booked"
    assert not WaitlistOffer.objects.get(pk=real["offer"]).taken
    assert AuditEvent.objects.filter(action="access.denied").exists()


def test_paula_and_her_teams_staff_open_every_page(
    paulas: dict[str, Any], paula: User, dr_diaz: User, client: Any, signed_in: Any
) -> None:
    ids = _ids(paulas)
    mine = signed_in(paula)
    for method, url in patient_urls(ids):
        if method == "get":
            assert mine.get(url).status_code in (200, 302), url
    mine.post("/account/sign-out/")
    staff = signed_in(dr_diaz)
    assert "Paula" in staff.get(f"/staff/appointments/teams/{ids['team']}/").content.decode()
    assert "MARKER-sad" in staff.get(f"/staff/appointments/requests/{ids['request']}/").content.decode()


def test_another_teams_template_id_is_the_404_of_a_missing_one(
    paulas: dict[str, Any], world: dict[str, Any], dr_diaz: User, signed_in: Any
) -> None:
    """Dr. Diaz opens his own team's page with Team Gold's template id: 404, audited."""
    gold = offer_visits(world["gold"]).templates.get()
    client = signed_in(dr_diaz)
    team = paulas["team"].pk
    for method in ("get", "post"):
        assert (
            getattr(client, method)(f"/staff/appointments/teams/{team}/templates/{gold.pk}/").status_code
            == 404
        )
        assert (
            getattr(client, method)(f"/staff/appointments/teams/{team}/templates/{MISSING}/").status_code
            == 404
        )
    assert (
        client.get(f"/staff/appointments/teams/{team}/templates/{paulas['template'].pk}/").status_code == 200
    )
    assert AuditEvent.objects.filter(
        action="access.denied", object_type="availability_template", object_id=str(gold.pk)
    ).exists()
    gold.refresh_from_db()
    assert gold.care_team == world["gold"]


def test_nothing_paula_typed_reaches_a_side_channel(
    side_channels: Any, world: dict[str, Any], paula: User, dr_diaz: User, signed_in: Any
) -> None:
    kind = offer_visits(world["blue"])
    client = signed_in(paula)
    slot = (
        open_slots(world["blue"].pk, kind.pk)
        .filter(starts_at__gte=timezone.now() + timedelta(days=3))
        .first()
    )
    url = f"/appointments/schedule/{world['blue'].pk}/{kind.pk}/{slot.pk}/"
    client.post(url, {"reason": "SECRET-shoulder", "step": "review"})
    assert client.post(url, {"reason": "SECRET-shoulder", "step": "confirm"}).status_code == 302
    client.get("/appointments/")
    assert side_channels.scan(["SECRET-shoulder"], clients={"paula": client}) == []


def test_the_list_page_costs_the_same_queries_however_many_bookings(
    world: dict[str, Any], paula: User, signed_in: Any
) -> None:
    kind = offer_visits(world["blue"])
    client = signed_in(paula)
    slots = list(
        open_slots(world["blue"].pk, kind.pk).filter(starts_at__gte=timezone.now() + timedelta(days=2))[:3]
    )
    actions.check_book(
        by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slots[0].pk, reason="r"
    )
    client.get("/appointments/")
    with CaptureQueriesContext(connection) as one:
        client.get("/appointments/")
    for slot in slots[1:]:
        actions.check_book(
            by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason="r"
        )
    with CaptureQueriesContext(connection) as three:
        client.get("/appointments/")
    assert len(three) == len(one)
