"""Benchmark of appointments: a hospital of many teams with months of 15-minute slots.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_appointments PORTAL_ENV=test \\
        .venv/bin/python bench/appointments.py [--teams 50] [--days 182] [--repeat 50] [--bookings 200]

Migrates the database named by the environment (refuses one that already holds slots), makes
`--teams` care teams, each with a weekday template from 8:00 to 16:00 in 15-minute slots and a
booking horizon of `--days`, and makes their slots (timed: slots per second).

Then, one process, a real signed-in patient through Django's test client: the open-slot page
(a team's times) and a booking (review and confirm, each on a new slot) timed beside a trivial
signed-in page (the help page), request by request in turns; printed as median and p95 and as a
ratio to the trivial page (target: under 2x).

Then bookings per second from 8 processes at once (the booking action, each process its own
patient and connection), twice: spread over many slots, and all racing for the same few slots.
Beside it, the ceiling the CPU allows: cores divided by the CPU time of one booking (this
process's CPU plus the database server's, measured on one process booking alone). Double
bookings are counted from the table: a slot held by more than one booking (must be 0).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import statistics
import sys
import time
from datetime import date
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_ENV", "test")
# As in production: a booking queues its e-mail on the database queue; no worker sends it here.
os.environ.setdefault("PORTAL_TASKS_BACKEND", "django_tasks_db.DatabaseBackend")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.consent import agreed_client  # noqa: E402
from portal.accounts.models import TermsAcceptance, User  # noqa: E402
from portal.accounts.selectors import current_terms  # noqa: E402
from portal.appointments import actions  # noqa: E402
from portal.appointments.models import (  # noqa: E402
    HOLDS_SLOT,
    Appointment,
    AppointmentType,
    AvailabilityTemplate,
    Slot,
    TeamSchedule,
)
from portal.appointments.slots import ensure_slots, open_slots  # noqa: E402
from portal.clinics.models import CareTeam, Clinic, Hospital, Patient, PatientCareTeam  # noqa: E402
from portal.core.acting import Actor, Refused  # noqa: E402

PASSWORD = "bench password for the appointment pages"  # noqa: S105 - a throwaway bench account


def build(teams: int, days: int) -> list[tuple[CareTeam, AppointmentType]]:
    hospital = Hospital.objects.create(
        name="Bench Medical Center", code="BENCH1", time_zone="America/New_York"
    )
    clinic = Clinic.objects.create(hospital=hospital, name="Bench Clinic")
    made = []
    for n in range(teams):
        team = CareTeam.objects.create(clinic=clinic, name=f"Team {n:02d}")
        TeamSchedule.objects.create(care_team=team, book_days_ahead=days, max_future_bookings=100_000)
        kind = AppointmentType.objects.create(care_team=team, name="Follow-up", minutes=15, cancel_hours=0)
        AvailabilityTemplate.objects.create(
            care_team=team,
            appointment_type=kind,
            weekdays="01234",
            starts_at=clock(8),
            ends_at=clock(16),
            slot_minutes=15,
        )
        made.append((team, kind))
    return made


def patient(n: int, teams: list[CareTeam]) -> Patient:
    now = timezone.now()
    user = User.objects.create_user(
        username=f"bench{n}",
        password=PASSWORD,
        kind=User.Kind.PATIENT,
        email_confirmed_at=now,
        contact_verified_at=now,
        mfa_offered_at=now,
    )
    found = Patient.objects.create(
        dod_id=f"88{n:08d}",
        first_name="Bench",
        last_name=f"P{n}",
        birth_date=date(1980, 1, 1),
        email=f"bench{n}@example.com",
        user=user,
    )
    PatientCareTeam.objects.bulk_create([PatientCareTeam(patient=found, care_team=t) for t in teams])
    terms = current_terms()
    if terms is not None:
        TermsAcceptance.objects.get_or_create(user=user, terms=terms)
    return found


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]


def pages(team: CareTeam, kind: AppointmentType, who: Patient, repeat: int) -> None:
    client = agreed_client()
    assert (
        client.post("/account/sign-in/", {"username": who.user.username, "password": PASSWORD}).status_code
        == 302
    )
    free = iter(list(open_slots(team.pk, kind.pk).order_by("-starts_at")[: repeat + 2]))
    base = f"/appointments/schedule/{team.pk}/{kind.pk}/"

    def trivial() -> None:
        assert client.get("/help/").status_code == 200

    def slot_page() -> None:
        assert client.get(base).status_code == 200

    def booking() -> None:
        url = f"{base}{next(free).pk}/"
        client.post(url, {"reason": "", "step": "review"})
        assert client.post(url, {"reason": "", "step": "confirm"}).status_code == 302

    runs = {
        "trivial signed-in page (help)": trivial,
        "open-slot page": slot_page,
        "booking (2 requests: review, confirm)": booking,
    }
    for run in runs.values():
        run()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - started) * 1000)
    base_median = statistics.median(samples["trivial signed-in page (help)"])
    for name, values in samples.items():
        median = statistics.median(values)
        print(
            f"  {name:30} median {median:7.1f} ms  p95 {p95(values):7.1f} ms  ratio {median / base_median:4.2f}x"
        )


def server_cpu_seconds() -> float:
    """The database server's CPU time so far (PostgreSQL backends of this cluster), 0 elsewhere."""
    if connection.vendor != "postgresql":
        return 0.0
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            command = Path(f"/proc/{pid}/comm").read_text().strip()
            if command != "postgres":
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def book_all(
    user_id: int, team_id: int, kind_id: int, slot_ids: list[int], out: multiprocessing.Queue
) -> None:
    connections.close_all()
    user = User.objects.get(pk=user_id)
    booked = taken = 0
    for slot_id in slot_ids:
        try:
            actions.check_book(by=Actor(user), team_id=team_id, type_id=kind_id, slot_id=slot_id, reason="")
            booked += 1
        except actions.SlotTaken:
            taken += 1
        except Refused:
            taken += 1
    connections.close_all()
    out.put((booked, taken))


def race(
    name: str, who: list[Patient], team: CareTeam, kind: AppointmentType, plans: list[list[int]]
) -> float:
    connections.close_all()
    out: multiprocessing.Queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=book_all, args=(p.user_id, team.pk, kind.pk, plan, out))
        for p, plan in zip(who, plans, strict=True)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    results = [out.get() for _ in workers]
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    booked = sum(r[0] for r in results)
    doubles = (
        Appointment.objects.filter(status__in=HOLDS_SLOT)
        .values("slot")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    rate = booked / seconds
    print(
        f"  {name:38} {booked:5} booked, {sum(r[1] for r in results):5} told taken, {rate:7.1f}/s, doubles {doubles}"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--days", type=int, default=182)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--bookings", type=int, default=200, help="bookings per process in the spread run")
    options = parser.parse_args()
    logging.disable(logging.INFO)
    call_command("migrate", verbosity=0)
    if Slot.objects.exists():
        sys.exit("this database already holds slots: give the benchmark an empty one")
    print(f"database: {connection.vendor}; {os.cpu_count()} cores")
    made = build(options.teams, options.days)
    started = time.perf_counter()
    for team, _ in made:
        ensure_slots(team.pk)
    seconds = time.perf_counter() - started
    count = Slot.objects.count()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does soon after a bulk load
    print(
        f"slots: {count} for {len(made)} teams over {options.days} days in {seconds:.1f} s ({count / seconds:.0f}/s)"
    )

    team, kind = made[0]
    people = [patient(n, [t for t, _ in made]) for n in range(10)]
    print("pages (one process):")
    pages(team, kind, people[8], options.repeat)

    # The CPU of one booking: one process alone, this process's CPU and the database server's.
    lone_team, lone_kind = made[1]
    lone = list(open_slots(lone_team.pk, lone_kind.pk).values_list("pk", flat=True)[:100])
    cpu, server = time.process_time(), server_cpu_seconds()
    for slot_id in lone:
        actions.check_book(
            by=Actor(people[9].user), team_id=lone_team.pk, type_id=lone_kind.pk, slot_id=slot_id, reason=""
        )
    per_booking = (time.process_time() - cpu + server_cpu_seconds() - server) / len(lone)
    ceiling = (os.cpu_count() or 1) / per_booking
    print(
        f"one booking: {per_booking * 1000:.1f} ms of CPU; ceiling {ceiling:.0f} bookings/s on {os.cpu_count()} cores"
    )

    print("8 processes at once:")
    spread_team, spread_kind = made[2]
    free = list(
        open_slots(spread_team.pk, spread_kind.pk).values_list("pk", flat=True)[: 8 * options.bookings]
    )
    plans = [free[n::8] for n in range(8)]
    rate = race("spread over many slots", people[:8], spread_team, spread_kind, plans)
    print(f"  {rate / ceiling * 100:.0f}% of the ceiling")
    few_team, few_kind = made[3]
    few = list(open_slots(few_team.pk, few_kind.pk).values_list("pk", flat=True)[:16])
    race("all racing for the same 16 slots", people[:8], few_team, few_kind, [few] * 8)


if __name__ == "__main__":
    main()
