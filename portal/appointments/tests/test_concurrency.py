"""Twenty patients press Confirm on the same slot at once (PostgreSQL, twenty connections):
exactly one booking is made, every other patient is told the time was just taken, and nothing
half-made remains. The same for moving onto a slot."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from portal.appointments import actions
from portal.appointments.models import Appointment
from portal.appointments.slots import open_slots
from portal.appointments.tests.helpers import offer_visits
from portal.core.acting import Actor
from portal.core.models import OutgoingEmail

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel connections need PostgreSQL"),
]


def _race(work: list[Any]) -> list[str]:
    barrier = threading.Barrier(len(work))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(job: Any) -> None:
        from django.db import connection as mine

        try:
            barrier.wait()
            job()
            result = "booked"
        except actions.SlotTaken:
            result = "taken"
        except Exception as error:  # noqa: BLE001 - the test reports it
            result = repr(error)
        finally:
            mine.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_twenty_parallel_bookings_of_one_slot_make_exactly_one(world: dict[str, Any]) -> None:
    from conftest import make_patient

    kind = offer_visits(world["blue"])
    slot = (
        open_slots(world["blue"].pk, kind.pk)
        .filter(starts_at__gte=timezone.now() + timedelta(days=3))
        .first()
    )
    people = [
        make_patient(
            username=f"p{n}",
            first=f"P{n}",
            last="Race",
            dod_id=f"77000000{n:02d}",
            born=date(1990, 1, 1),
            team=world["blue"],
        ).user
        for n in range(20)
    ]
    jobs = [
        (
            lambda user=user: actions.check_book(
                by=Actor(user), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason="race"
            )
        )
        for user in people
    ]
    outcomes = _race(jobs)
    assert sorted(outcomes) == ["booked"] + ["taken"] * 19
    assert Appointment.objects.filter(slot=slot).count() == 1
    assert OutgoingEmail.objects.count() == 1  # the losers' e-mails rolled back with them


def test_eight_patients_moving_onto_one_slot_make_one_move_and_keep_the_others(world: dict[str, Any]) -> None:
    """A move is one transaction: the losers keep their old booking, untouched."""
    from conftest import make_patient

    kind = offer_visits(world["blue"])
    free = list(
        open_slots(world["blue"].pk, kind.pk).filter(starts_at__gte=timezone.now() + timedelta(days=3))[:9]
    )
    target, own = free[0], free[1:]
    people = [
        make_patient(
            username=f"m{n}",
            first=f"M{n}",
            last="Move",
            dod_id=f"77100000{n:02d}",
            born=date(1990, 1, 1),
            team=world["blue"],
        ).user
        for n in range(8)
    ]
    held = [
        actions.check_book(
            by=Actor(user), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason=""
        )
        for user, slot in zip(people, own, strict=True)
    ]
    jobs = [
        (
            lambda user=user, booking=booking: actions.check_reschedule(
                by=Actor(user), appointment_id=booking.pk, slot_id=target.pk
            )
        )
        for user, booking in zip(people, held, strict=True)
    ]
    outcomes = _race(jobs)
    assert sorted(outcomes) == ["booked"] + ["taken"] * 7
    assert Appointment.objects.filter(slot=target).count() == 1
    assert Appointment.objects.filter(status="booked").count() == 8
    assert Appointment.objects.filter(status="moved").count() == 1
