"""Twenty patients press Confirm on the same slot at once (PostgreSQL, twenty connections):
exactly one booking is made, every other patient is told the time was just taken, and nothing
half-made remains. One patient confirming eight times at once keeps to her limit. The same for
moving onto a slot, for a slot held by a waitlist offer (only the patient offered it gets it),
and for an offer taken just as the job closes it."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from portal.appointments import actions
from portal.appointments.models import Appointment, Slot, WaitlistOffer
from portal.appointments.slots import open_slots
from portal.appointments.tests.helpers import offer_visits
from portal.core.acting import Actor, Refused
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
        except actions.SlotTaken as refused:
            # The patient's words: "That time was just taken" (the page then lists the next times).
            result = "taken" if refused.message == actions.TAKEN else refused.message
        except Refused as refused:
            result = refused.message
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


def test_one_patient_booking_from_eight_tabs_at_once_keeps_to_the_limit(
    world: dict[str, Any], paula: Any
) -> None:
    """Paula may hold 2 upcoming visits with the team and presses Confirm on eight different
    times at once: her own bookings are serialized (her row's lock, taken with the slot's in
    one statement), so exactly two are made and six are told of the limit."""
    from portal.appointments.models import TeamSchedule

    team = world["blue"]
    kind = offer_visits(team)
    TeamSchedule.objects.filter(care_team=team).update(max_future_bookings=2)
    slots = list(open_slots(team.pk, kind.pk).filter(starts_at__gte=timezone.now() + timedelta(days=3))[:8])
    jobs = [
        (
            lambda slot=slot: actions.check_book(
                by=Actor(paula), team_id=team.pk, type_id=kind.pk, slot_id=slot.pk, reason=""
            )
        )
        for slot in slots
    ]
    outcomes = _race(jobs)
    limit = "You already hold 2 upcoming appointments with this team: cancel one, or call the clinic."
    assert sorted(outcomes) == sorted(["booked"] * 2 + [limit] * 6)
    assert Appointment.objects.filter(patient__user=paula, status=Appointment.Status.BOOKED).count() == 2


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


def _racers(world: dict[str, Any], count: int, prefix: str, dod: str) -> list[Any]:
    from conftest import make_patient

    return [
        make_patient(
            username=f"{prefix}{n}",
            first=f"{prefix.upper()}{n}",
            last="Race",
            dod_id=f"{dod}{n:02d}",
            born=date(1990, 1, 1),
            team=world["blue"],
        ).user
        for n in range(count)
    ]


def _offered(world: dict[str, Any], waiting_users: list[Any]) -> dict[str, Any]:
    """Eve cancels her early visit; the first of `waiting_users` (who wait on later visits, in
    that order) is offered the freed slot."""
    kind = offer_visits(world["blue"])
    free = list(
        open_slots(world["blue"].pk, kind.pk).filter(starts_at__gte=timezone.now() + timedelta(days=3))[:12]
    )
    early = free[0]
    [eve] = _racers(world, 1, "eve", "77200000")
    holder = actions.check_book(
        by=Actor(eve), team_id=world["blue"].pk, type_id=kind.pk, slot_id=early.pk, reason=""
    )
    waiting = []
    for user, slot in zip(waiting_users, free[-len(waiting_users) :], strict=True):
        booked = actions.check_book(
            by=Actor(user), team_id=world["blue"].pk, type_id=kind.pk, slot_id=slot.pk, reason=""
        )
        actions.check_set_preferences(by=Actor(user), appointment_id=booked.pk, reminders=True, waitlist=True)
        waiting.append(booked)
    actions.check_cancel(by=Actor(eve), appointment_id=holder.pk)
    offer = WaitlistOffer.objects.get(slot=early)
    assert offer.appointment == waiting[0]
    return {"kind": kind, "early": early, "waiting": waiting, "offer": offer}


def test_while_an_offer_runs_only_the_offered_patient_gets_the_slot_against_nineteen(
    world: dict[str, Any],
) -> None:
    """Paula takes her offer while 19 other patients press Confirm on the same slot: she gets
    it, each of them is told "That time was just taken" and is shown other times, and none of
    them holds anything or got an e-mail."""
    [paula] = _racers(world, 1, "paula", "77300000")
    offered = _offered(world, [paula])
    early, kind = offered["early"], offered["kind"]
    others = _racers(world, 19, "o", "77400000")
    mails_before = OutgoingEmail.objects.count()
    take = [lambda: actions.check_take_offer(by=Actor(paula), offer_id=offered["offer"].pk)]
    book = [
        (
            lambda user=user: actions.check_book(
                by=Actor(user), team_id=world["blue"].pk, type_id=kind.pk, slot_id=early.pk, reason="race"
            )
        )
        for user in others
    ]
    outcomes = _race(take + book)
    assert sorted(outcomes) == ["booked"] + ["taken"] * 19
    [held] = Appointment.objects.filter(slot=early, status="booked")
    assert held.patient == paula.patient_record and held.status == "booked"
    assert not Appointment.objects.filter(patient__user__in=others).exists()
    offered["offer"].refresh_from_db()
    assert offered["offer"].taken
    # One e-mail: Paula's "moved"; the losers' e-mails rolled back with them.
    assert OutgoingEmail.objects.count() == mails_before + 1
    losers_see = actions.next_open_times(
        actions.check_booking(
            by=Actor(others[0]), team_id=world["blue"].pk, type_id=kind.pk, slot_id=early.pk
        )
    )
    assert losers_see and early not in losers_see


@pytest.mark.parametrize("round_", range(4))
def test_an_offer_taken_as_the_job_closes_it_goes_one_way_only(world: dict[str, Any], round_: int) -> None:
    """Paula takes her offer in the same instant as the waitlist job, whose clock says it ran
    out, passes it on to Rosa, the next patient waiting. Either Paula has the slot and nobody
    is offered it, or the offer lapsed, Paula keeps her booking and is told the offer ended, and
    Rosa's offer runs: never both, never neither."""
    paula, rosa = _racers(world, 2, f"w{round_}", f"775{round_}0000")
    offered = _offered(world, [paula, rosa])
    early, offer = offered["early"], offered["offer"]
    take = [lambda: actions.check_take_offer(by=Actor(paula), offer_id=offer.pk)]
    job = [lambda: actions.offer_to_the_next(offer.expires_at)]
    outcomes = _race(take + job)
    running = WaitlistOffer.objects.filter(slot=early, taken=False, lapsed=False)
    offer.refresh_from_db()
    paulas = offered["waiting"][0]
    paulas.refresh_from_db()
    if outcomes.count("booked") == 2:  # Paula's take, then the job, which found the slot booked
        assert offer.taken and not offer.lapsed
        assert paulas.status == "moved" and paulas.moved_to.slot == early
        assert not running.exists()
    else:
        assert actions.OFFER_ENDED in outcomes
        assert offer.lapsed and not offer.taken
        assert paulas.status == "booked" and paulas.slot != early
        assert [o.appointment for o in running] == [offered["waiting"][1]]
    assert Appointment.objects.filter(slot=early, status="booked").count() == (1 if offer.taken else 0)
    assert Slot.objects.filter(pk=early.pk).exists()


def test_a_slot_freed_for_a_waiting_patient_is_not_snatched_by_nineteen_bookers(
    world: dict[str, Any],
) -> None:
    """Eve cancels the early visit Paula waits for, while 19 patients press Confirm on it: the
    slot goes to Paula's offer, every one of them is told it was just taken."""
    kind = offer_visits(world["blue"])
    free = list(
        open_slots(world["blue"].pk, kind.pk).filter(starts_at__gte=timezone.now() + timedelta(days=3))[:12]
    )
    early = free[0]
    eve, paula = _racers(world, 2, "c", "77600000")
    holder = actions.check_book(
        by=Actor(eve), team_id=world["blue"].pk, type_id=kind.pk, slot_id=early.pk, reason=""
    )
    waiting = actions.check_book(
        by=Actor(paula), team_id=world["blue"].pk, type_id=kind.pk, slot_id=free[-1].pk, reason=""
    )
    actions.check_set_preferences(by=Actor(paula), appointment_id=waiting.pk, reminders=True, waitlist=True)
    others = _racers(world, 19, "s", "77700000")
    cancel = [lambda: actions.check_cancel(by=Actor(eve), appointment_id=holder.pk)]
    book = [
        (
            lambda user=user: actions.check_book(
                by=Actor(user), team_id=world["blue"].pk, type_id=kind.pk, slot_id=early.pk, reason=""
            )
        )
        for user in others
    ]
    outcomes = _race(cancel + book)
    assert sorted(outcomes) == ["booked"] + ["taken"] * 19  # "booked": Eve's cancel went through
    assert not Appointment.objects.filter(slot=early, status="booked").exists()
    [offer] = WaitlistOffer.objects.filter(slot=early, taken=False, lapsed=False)
    assert offer.appointment == waiting
