"""Benchmark of appointments: a hospital of many teams with months of 15-minute slots.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_appointments PORTAL_ENV=test \\
        .venv/bin/python bench/appointments.py [--teams 50] [--days 182] [--repeat 50] [--bookings 200]

Migrates the database named by the environment (refuses one that already holds slots), makes
`--teams` care teams, each with a weekday template from 8:00 to 16:00 in 15-minute slots and a
booking horizon of `--days`, and makes their slots (timed: slots per second).

As in a server process (`portal.wsgi`), audit events are chained by a sealer thread of each
process, off the request path (`portal.audit.sealer`); a forked client starts its own.

Then, one process, a real signed-in patient through Django's test client: the open-slot page
(a team's times), the review page and the confirm (the POST that books: each on a new slot)
timed beside a trivial signed-in page (the help page), request by request in turns; printed as
median and p95 and as a ratio to the trivial page (target: under 2x), in wall time and in CPU
time (this process's, its sealer thread included, plus its PostgreSQL backend's, read from
/proc/<pid>/schedstat), which a busy machine disturbs less.

Then bookings per second from 8 processes at once (the booking action, each process its own
patient and connection), twice: spread over many slots, and all racing for the same few slots.
The processes start, connect and read their user before the clock starts; the clock runs from
"go" to the last booking. Beside it, the ceiling the CPU allows: cores divided by the CPU time
of one booking (this process's CPU plus its database backends', measured on one process booking
alone in the same run, just before the spread run and again just after it: a shared machine's
speed drifts within minutes, and the ceiling is read from the mean of the two), and what the
run itself used: its clients' CPU, their backends', and what every other process on the
machine took meanwhile (from /proc/stat: run it on a quiet machine). What the busy backends
wait on is sampled from `pg_stat_activity` by the parent, every 100 ms in the spread runs (each
sample takes CPU from the run it watches: at every 20 ms it took 3 to 4% of the machine) and
every 20 ms in the short racing run. Double bookings are counted from the table: a slot held
by more than one booking (must be 0). The load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from datetime import time as clock
from pathlib import Path
from typing import Any

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
from bench.timing import p95  # noqa: E402
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
from portal.audit import log, sealer  # noqa: E402
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


def backend_cpu_seconds(pids: list[int]) -> float:
    """CPU time of these processes so far, in nanosecond steps (/proc/<pid>/schedstat); a
    process that has ended counts 0."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def our_backends() -> list[int]:
    """The PostgreSQL backends connected to this bench's database (not other databases')."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return [row[0] for row in cursor.fetchall()]


def own_backend() -> list[int]:
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    return [row[0]] if row else []


def pages(team: CareTeam, kind: AppointmentType, who: Patient, repeat: int) -> None:
    client = agreed_client()
    assert (
        client.post("/account/sign-in/", {"username": who.user.username, "password": PASSWORD}).status_code
        == 302
    )
    free = iter(list(open_slots(team.pk, kind.pk).order_by("-starts_at")[: repeat + 2]))
    base = f"/appointments/schedule/{team.pk}/{kind.pk}/"
    chosen: list[int] = []

    def trivial() -> None:
        assert client.get("/help/").status_code == 200

    def slot_page() -> None:
        assert client.get(base).status_code == 200

    def review() -> None:
        chosen[:] = [next(free).pk]
        assert client.post(f"{base}{chosen[0]}/", {"reason": "", "step": "review"}).status_code == 200

    def confirm() -> None:
        assert client.post(f"{base}{chosen[0]}/", {"reason": "", "step": "confirm"}).status_code == 302

    trivial_name = "trivial signed-in page (help)"
    runs = {
        trivial_name: trivial,
        "open-slot page": slot_page,
        "review page (a POST)": review,
        "confirm (the booking)": confirm,
    }
    for run in runs.values():
        run()
    backend = own_backend()  # the test client keeps one connection (CONN_MAX_AGE)
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            cpu_started, db_started = time.process_time(), backend_cpu_seconds(backend)
            started = time.perf_counter()
            run()
            wall[name].append((time.perf_counter() - started) * 1000)
            used = time.process_time() - cpu_started + backend_cpu_seconds(backend) - db_started
            cpu[name].append(used * 1000)
    base_wall, base_cpu = statistics.median(wall[trivial_name]), statistics.median(cpu[trivial_name])
    for name in runs:
        median, cpu_median = statistics.median(wall[name]), statistics.median(cpu[name])
        print(
            f"  {name:30} median {median:6.1f} ms  p95 {p95(wall[name]):6.1f} ms  "
            f"ratio {median / base_wall:4.2f}x (p95 {p95(wall[name]) / p95(wall[trivial_name]):4.2f}x); "
            f"CPU {cpu_median:5.1f} ms  ratio {cpu_median / base_cpu:4.2f}x"
        )


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass(frozen=True)
class Client:
    """One booking client: whom it books for, what, and how it meets the others."""

    user_id: int
    team_id: int
    kind_id: int
    slot_ids: list[int]
    ready: Any  # released when connected
    go: Any  # set when the clock starts
    done: Any  # set when the parent has read the CPU counters
    out: Any  # a queue of results
    seal: bool = True  # False: leave the chaining to the `audit.seal` job (a diagnostic)


def book_all(client: Client) -> None:
    """One client: connects and reads its user, says it is ready, books on "go", reports, and
    keeps its connections (and their backends' CPU counters) until the parent has read them."""
    connections.close_all()
    if client.seal:
        sealer.start()  # a forked process's own sealer thread, as a server worker has
    else:
        log.seal_in_background(lambda: None)  # commits chain nothing: the periodic job would
    by = Actor(User.objects.get(pk=client.user_id))
    client.ready.release()
    client.go.wait()
    cpu = time.process_time()
    booked = taken = 0
    for slot_id in client.slot_ids:
        try:
            actions.check_book(
                by=by, team_id=client.team_id, type_id=client.kind_id, slot_id=slot_id, reason=""
            )
            booked += 1
        except actions.SlotTaken:
            taken += 1
        except Refused:
            taken += 1
    finished = time.perf_counter()
    if client.seal:
        sealer.stop()  # chains what is left (its CPU counts: a server's sealer does this work)
    client.out.put((booked, taken, finished, time.process_time() - cpu))
    client.done.wait()
    connections.close_all()


class WaitSampler:
    """Samples what the bench database's busy backends wait on, every `every` seconds, from its
    own thread and connection (left out of the figures): a lock ("Lock:transactionid" is a row
    lock or a unique index waiting on another transaction), the WAL, the CPU (no wait event)."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.samples = 0
        self.busy = 0
        self.waits: Counter[str] = Counter()
        self.pid = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> WaitSampler:
        if connection.vendor == "postgresql":
            self.thread.start()
            self._ready.wait()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join()

    def _run(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.pid = cursor.fetchone()[0]
            self._ready.set()
            while not self._stop.wait(self.every):
                cursor.execute(
                    "SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU') FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'"
                )
                rows = cursor.fetchall()
                self.samples += 1
                self.busy += len(rows)
                self.waits.update(row[0] for row in rows)
        connection.close()

    def report(self) -> str:
        if not self.samples:
            return ""
        shares = ", ".join(
            f"{event} {count / self.samples:.2f}" for event, count in self.waits.most_common(5)
        )
        return f"busy backends on average {self.busy / self.samples:.2f} ({shares})"


def race(
    name: str,
    *,
    who: list[Patient],
    team: CareTeam,
    kind: AppointmentType,
    plans: list[list[int]],
    sample_every: float = 0.1,
    seal: bool = True,
) -> float:
    connections.close_all()
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = context.Queue()
    ready, go, done = context.Semaphore(0), context.Event(), context.Event()
    workers = [
        context.Process(
            target=book_all, args=(Client(p.user_id, team.pk, kind.pk, plan, ready, go, done, out, seal),)
        )
        for p, plan in zip(who, plans, strict=True)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.acquire()
    sampler = WaitSampler(sample_every).start()
    backends = [pid for pid in our_backends() if pid != sampler.pid]
    db_before = backend_cpu_seconds(backends)
    busy_before, total_before = machine_busy_seconds()
    started = time.perf_counter()
    go.set()
    results = [out.get() for _ in workers]
    seconds = max(r[2] for r in results) - started
    busy, total = machine_busy_seconds()
    sampler.stop()
    backends = sorted((set(backends) | set(our_backends())) - {sampler.pid})  # sealers connect later
    db_used = backend_cpu_seconds(backends) - db_before
    done.set()
    for worker in workers:
        worker.join()
    booked = sum(r[0] for r in results)
    clients = sum(r[3] for r in results)
    doubles = (
        Appointment.objects.filter(status__in=HOLDS_SLOT)
        .values("slot")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    rate = booked / seconds
    cores = os.cpu_count() or 1
    machine = (busy - busy_before) / (total - total_before) * cores  # cores busy, all processes
    ours = (clients + db_used) / seconds
    taken = sum(r[1] for r in results)
    print(
        f"  {name:34} {booked:5} booked, {taken:5} told taken, {rate:6.1f}/s in {seconds:5.2f} s "
        f"(answers: {(booked + taken) / seconds:.1f}/s), doubles {doubles}"
    )
    print(
        f"    CPU: clients {clients / seconds:4.2f} cores + their backends {db_used / seconds:4.2f} = "
        f"{ours:4.2f} of {cores}; other processes {max(0.0, machine - ours):4.2f}; "
        f"{(clients + db_used) / max(booked, 1) * 1000:5.1f} ms per booking; load average {load_average()}"
    )
    print(f"    {sampler.report()}")
    return rate


def sealers_off(made: list[tuple[CareTeam, AppointmentType]], bookings: int) -> float:
    """The spread run again, the clients' sealers off: what the sealers cost the run."""
    more_team, more_kind = made[4]
    more = list(open_slots(more_team.pk, more_kind.pk).values_list("pk", flat=True)[: 8 * bookings])
    others = [patient(n, [t for t, _ in made]) for n in range(10, 18)]  # the same times: new people
    return race(
        "spread, sealers off (diagnostic)",
        who=others,
        team=more_team,
        kind=more_kind,
        plans=[more[n::8] for n in range(8)],
        seal=False,
    )


def lone_booking_cpu(by: Actor, team: CareTeam, kind: AppointmentType, slot_ids: list[int]) -> float:
    """The CPU of one booking, in seconds: one process alone booking these slots, this process's
    CPU (its sealer thread included) and its database backends' (the sealer's connection too)."""
    sealer.start().flush()  # the sealer's connection is open: its backend is counted from here
    backends = our_backends()
    cpu, server = time.process_time(), backend_cpu_seconds(backends)
    for slot_id in slot_ids:
        actions.check_book(by=by, team_id=team.pk, type_id=kind.pk, slot_id=slot_id, reason="")
    sealer.start().flush()
    used = (time.process_time() - cpu + backend_cpu_seconds(backends) - server) / len(slot_ids)
    sealer.stop()  # the clients fork from this process: no thread of it may be running then
    print(f"  one booking alone: {used * 1000:.1f} ms of CPU; load average {load_average()}")
    return used


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--days", type=int, default=182)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--bookings", type=int, default=200, help="bookings per process in the spread run")
    parser.add_argument(
        "--unsealed-too",
        action="store_true",
        help="run the spread run again with the clients' sealers off (a diagnostic: the sealers' share)",
    )
    options = parser.parse_args()
    logging.disable(logging.INFO)
    call_command("migrate", verbosity=0)
    if Slot.objects.exists():
        sys.exit("this database already holds slots: give the benchmark an empty one")
    print(f"database: {connection.vendor}; {os.cpu_count()} cores; load average {load_average()}")
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
    sealer.start()
    print(f"pages (one process; load average {load_average()}):")
    pages(team, kind, people[8], options.repeat)

    # The ceiling: the CPU of one booking alone, just before the spread run and just after it.
    lone_team, lone_kind = made[1]
    lone = list(open_slots(lone_team.pk, lone_kind.pk).values_list("pk", flat=True)[:400])
    by = Actor(people[9].user)
    print("8 processes at once:")
    before = lone_booking_cpu(by, lone_team, lone_kind, lone[:200])
    spread_team, spread_kind = made[2]
    free = list(
        open_slots(spread_team.pk, spread_kind.pk).values_list("pk", flat=True)[: 8 * options.bookings]
    )
    plans = [free[n::8] for n in range(8)]
    rate = race("spread over many slots", who=people[:8], team=spread_team, kind=spread_kind, plans=plans)
    after = lone_booking_cpu(by, lone_team, lone_kind, lone[200:])
    unsealed = sealers_off(made, options.bookings) if options.unsealed_too else None
    cores = os.cpu_count() or 1
    ceiling = cores / ((before + after) / 2)
    print(
        f"  ceiling: {cores} cores / {(before + after) / 2 * 1000:.1f} ms = {ceiling:.0f} bookings/s "
        f"(from before alone {cores / before:.0f}/s, from after alone {cores / after:.0f}/s)"
    )
    print(f"  spread over many slots: {rate / ceiling * 100:.0f}% of the ceiling")
    if unsealed is not None:
        print(f"  spread, sealers off (diagnostic): {unsealed / ceiling * 100:.0f}% of the ceiling")
    few_team, few_kind = made[3]
    few = list(open_slots(few_team.pk, few_kind.pk).values_list("pk", flat=True)[:16])
    race(
        "all racing for the same 16 slots",
        who=people[:8],
        team=few_team,
        kind=few_kind,
        plans=[few] * 8,
        sample_every=0.02,  # a run of under a second: the lock waits are what it shows
    )


if __name__ == "__main__":
    main()
