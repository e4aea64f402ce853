"""The booking pages read each thing once, and the one-query doors refuse what the doors refuse.

Paula Quill is a patient of Team Blue. Team Gold is Eve Vance's team, not Paula's: its types and
slots are not Paula's to book, alone or mixed with Team Blue's ids. The query counts pinned
here may go down, never up (the booking benchmark's ratios rest on them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.accounts.models import User
from portal.appointments import actions
from portal.appointments.models import Appointment, AppointmentType, AvailabilityTemplate, Slot, TeamSchedule
from portal.appointments.slots import open_slots
from portal.appointments.tests.helpers import offer_visits
from portal.audit.models import AuditEvent
from portal.core.acting import Actor, Refused

pytestmark = pytest.mark.django_db

# The trivial signed-in page (help) costs these; each booking page is pinned as so many more.
SLOT_PAGE_EXTRA = 2  # the type with its team and schedule; the open times
REVIEW_EXTRA = 1  # the slot with its type, team and schedule
# The slot; BEGIN, the patient's and the slot's locks in one statement (none on SQLite: one
# writer at a time), the rules, the insert, the e-mail and its calendar file, the audit event
# (two statements on SQLite: the same count either way), COMMIT; less the menu's unread count
# the trivial page reads (the confirm answers with a redirect, no page).
CONFIRM_EXTRA = 8


@pytest.fixture
def blue(world: dict[str, Any]) -> tuple[Any, AppointmentType, list[Slot]]:
    kind = offer_visits(world["blue"])
    slots = list(
        open_slots(world["blue"].pk, kind.pk).filter(starts_at__gte=timezone.now() + timedelta(days=4))
    )
    return world["blue"], kind, slots


@pytest.fixture
def gold(world: dict[str, Any]) -> tuple[Any, AppointmentType, list[Slot]]:
    kind = offer_visits(world["gold"])
    return world["gold"], kind, list(open_slots(world["gold"].pk, kind.pk)[:3])


def _count(fn: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        fn()
    return len(queries)


def test_the_booking_pages_cost_a_pinned_number_of_queries(
    blue: tuple[Any, AppointmentType, list[Slot]], paula: User, signed_in: Any
) -> None:
    team, kind, slots = blue
    TeamSchedule.objects.filter(care_team=team).update(max_future_bookings=10)
    client = signed_in(paula)
    page = f"/appointments/schedule/{team.pk}/{kind.pk}/"
    client.get("/help/")
    client.get(page)
    trivial = _count(lambda: client.get("/help/"))
    assert _count(lambda: client.get(page)) == trivial + SLOT_PAGE_EXTRA
    with_many = Appointment.objects.count()
    for slot in slots[10:14]:  # more bookings on the page's team do not add queries
        actions.check_book(by=Actor(paula), team_id=team.pk, type_id=kind.pk, slot_id=slot.pk, reason="")
    assert Appointment.objects.count() == with_many + 4
    assert _count(lambda: client.get(page)) == trivial + SLOT_PAGE_EXTRA
    url = f"{page}{slots[0].pk}/"
    assert _count(lambda: client.post(url, {"reason": "", "step": "review"})) == trivial + REVIEW_EXTRA
    response = None

    def confirm() -> None:
        nonlocal response
        response = client.post(url, {"reason": "", "step": "confirm"})

    assert _count(confirm) == trivial + CONFIRM_EXTRA
    assert response is not None and response.status_code == 302
    assert Appointment.objects.filter(slot=slots[0], patient__user=paula, status="booked").count() == 1


def test_the_slot_page_links_each_time_to_its_review(
    blue: tuple[Any, AppointmentType, list[Slot]], paula: User, signed_in: Any
) -> None:
    team, kind, _ = blue
    client = signed_in(paula)
    page = f"/appointments/schedule/{team.pk}/{kind.pk}/"
    html = client.get(page).content.decode()
    first = open_slots(team.pk, kind.pk).first()
    assert first is not None
    assert f'href="{page}{first.pk}/"' in html
    assert client.get(f"{page}{first.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("mix", "kind_refused"),
    [
        ("gold team, gold type, gold slot", "care_team"),
        ("blue team, gold type, blue slot", "appointment_type"),
        ("blue team, blue type, gold slot", "slot"),
        ("blue team, X-ray type, blue slot", "slot"),
    ],
)
def test_paula_cannot_mix_ids_into_a_booking(  # noqa: PLR0917 - pytest fixtures
    mix: str,
    kind_refused: str,
    blue: tuple[Any, AppointmentType, list[Slot]],
    gold: tuple[Any, AppointmentType, list[Slot]],
    paula: User,
    signed_in: Any,
) -> None:
    """Each mix answers the 404 of a missing id, audited as refused access to what failed."""
    ids = {"blue": blue, "gold": gold}
    team_word, type_word, slot_word = (part.split()[0] for part in mix.split(", "))
    team = ids[team_word][0]
    kind = (
        AppointmentType.objects.get(care_team=team, name="X-ray")
        if type_word == "X-ray"
        else ids[type_word][1]
    )
    if type_word == "X-ray":
        kind.online = True  # bookable, but the slot is another type's
        kind.save()
    slot = ids[slot_word][2][0]
    client = signed_in(paula)
    before = Appointment.objects.count()
    for step in ("review", "confirm"):
        response = client.post(
            f"/appointments/schedule/{team.pk}/{kind.pk}/{slot.pk}/", {"reason": "", "step": step}
        )
        assert response.status_code == 404
    assert client.get(f"/appointments/schedule/{team.pk}/{kind.pk}/").status_code == (
        404 if kind_refused in ("care_team", "appointment_type") else 200
    )
    assert Appointment.objects.count() == before
    assert AuditEvent.objects.filter(
        action="access.denied", actor_id=paula.pk, object_type=kind_refused
    ).exists()


def test_a_team_no_longer_active_is_not_booked(
    blue: tuple[Any, AppointmentType, list[Slot]], paula: User, signed_in: Any
) -> None:
    team, kind, slots = blue
    team.is_active = False
    team.save()
    client = signed_in(paula)
    assert client.get(f"/appointments/schedule/{team.pk}/{kind.pk}/").status_code == 404
    url = f"/appointments/schedule/{team.pk}/{kind.pk}/{slots[0].pk}/"
    assert client.post(url, {"reason": "", "step": "confirm"}).status_code == 404
    assert not Appointment.objects.filter(slot=slots[0]).exists()


def test_a_time_whose_template_was_switched_off_is_no_longer_offered(
    blue: tuple[Any, AppointmentType, list[Slot]], paula: User
) -> None:
    team, kind, slots = blue
    AvailabilityTemplate.objects.filter(appointment_type=kind).update(is_active=False)
    with pytest.raises(Refused, match="no longer offered"):
        actions.check_book(by=Actor(paula), team_id=team.pk, type_id=kind.pk, slot_id=slots[0].pk, reason="")


def test_no_more_upcoming_bookings_with_a_team_than_it_allows(
    blue: tuple[Any, AppointmentType, list[Slot]], paula: User
) -> None:
    """Two allowed: the third is refused; a cancelled one frees its place."""
    team, kind, slots = blue
    TeamSchedule.objects.filter(care_team=team).update(max_future_bookings=2)
    by = Actor(paula)
    first = actions.check_book(by=by, team_id=team.pk, type_id=kind.pk, slot_id=slots[0].pk, reason="")
    actions.check_book(by=by, team_id=team.pk, type_id=kind.pk, slot_id=slots[3].pk, reason="")
    with pytest.raises(Refused, match="already hold 2 upcoming appointments"):
        actions.check_book(by=by, team_id=team.pk, type_id=kind.pk, slot_id=slots[6].pk, reason="")
    actions.check_cancel(by=by, appointment_id=first.pk)
    actions.check_book(by=by, team_id=team.pk, type_id=kind.pk, slot_id=slots[6].pk, reason="")
    assert Appointment.objects.filter(patient__user=paula, status="booked").count() == 2


def test_a_reschedule_does_not_clash_with_the_booking_it_moves(
    blue: tuple[Any, AppointmentType, list[Slot]], paula: User
) -> None:
    """The next slot overlaps nothing but the booking being moved: the move goes through."""
    team, kind, slots = blue
    by = Actor(paula)
    booked = actions.check_book(by=by, team_id=team.pk, type_id=kind.pk, slot_id=slots[0].pk, reason="")
    moved = actions.check_reschedule(by=by, appointment_id=booked.pk, slot_id=slots[1].pk)
    assert moved.slot_id == slots[1].pk
    assert Appointment.objects.get(pk=booked.pk).status == "moved"
