"""Benchmark of medications: the list page, and refill requests from 8 clients at once.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_meds PORTAL_ENV=test \
        .venv/bin/python bench/medications.py

Migrates the database named by the environment and refuses to run if it already holds
prescriptions. Then:

1. The page: a patient with 40 prescriptions imported from a FHIR bundle (through the
   records import and the medications consumer, each with a fill) and one open refill
   request signs in (a real session through Django's test client); the medication list (its
   first page, the 10 newest of the 30 active, and "Show all") is timed beside a trivial
   signed-in page (the help page), taking turns request by request (`--repeat N` each, 200 by
   default) so a busy moment slows all alike; median and p95 of each and the ratio to the
   trivial page (target: under 2x), in wall time and in this process's CPU time (which a busy
   machine disturbs less; PostgreSQL's own CPU is another process's and is left out of it).
   `--pages-only` leaves out part 2. `--profile N` then runs the first page N more times under cProfile and prints where the
   time went (cumulative, the 40 heaviest).
2. The rule under load (PostgreSQL only): 200 refillable prescriptions, 8 threads with a
   connection each ask for a refill of every one of them in their own order (1,600 asks);
   prints asks per second, requests made (must be 200) and duplicates (open requests beyond
   one per prescription: must be 0).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_ENV", "test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.consent import agreed_client  # noqa: E402
from bench.timing import interleaved, p95  # noqa: E402
from portal.accounts.models import TermsAcceptance, User  # noqa: E402
from portal.accounts.selectors import current_terms  # noqa: E402
from portal.audit import sealer  # noqa: E402
from portal.clinics.models import CareTeam, Clinic, Hospital, Patient, PatientCareTeam  # noqa: E402
from portal.core.acting import Actor  # noqa: E402
from portal.medications import actions  # noqa: E402
from portal.medications.models import Fill, Pharmacy, Prescription, RefillRequest  # noqa: E402
from portal.records.actions import do_import_file  # noqa: E402
from portal.records.importer import Links, Origin  # noqa: E402
from portal.vault.crypto import keyring  # noqa: E402

PASSWORD = "bench password for the medication pages"  # noqa: S105 - a throwaway bench account
DOD_ID = "9800000001"


def world() -> tuple[User, Pharmacy]:
    hospital = Hospital.objects.create(name="Bench Medical Center", code="B001")
    team = CareTeam.objects.create(
        clinic=Clinic.objects.create(hospital=hospital, name="Bench Clinic"), name="Bench"
    )
    user = User.objects.create_user(
        username="bench.meds", password=PASSWORD, kind=User.Kind.PATIENT, email_confirmed_at=timezone.now()
    )
    user.contact_verified_at = user.mfa_offered_at = timezone.now()
    user.save()
    terms = current_terms()
    if terms is not None:
        TermsAcceptance.objects.create(user=user, terms=terms)
    patient = Patient.objects.create(
        dod_id=DOD_ID, first_name="Bench", last_name="Patient", birth_date=date(1980, 1, 1), user=user
    )
    PatientCareTeam.objects.create(patient=patient, care_team=team)
    pharmacy = Pharmacy.objects.create(name="Bench Pharmacy", fhir_id="bench-pharmacy", hospital=hospital)
    return user, pharmacy


def forty_prescriptions() -> None:
    now = timezone.now()
    resources: list[dict[str, object]] = [
        {
            "resourceType": "Patient",
            "id": "bench",
            "identifier": [
                {
                    "system": os.environ.get(
                        "PORTAL_FHIR_DOD_ID_SYSTEM", "urn:oid:2.16.840.1.113883.3.42.10001.100001.12"
                    ),
                    "value": DOD_ID,
                }
            ],
            "name": [{"family": "Patient", "given": ["Bench"]}],
        },
        {"resourceType": "Organization", "id": "bench-pharmacy", "name": "Bench Pharmacy"},
    ]
    for n in range(40):
        resources.append(
            {
                "resourceType": "MedicationRequest",
                "id": f"bench-rx-{n}",
                "status": "active" if n % 4 else "completed",
                "intent": "order",
                "subject": {"reference": "Patient/bench"},
                "medicationCodeableConcept": {"text": f"Bench medicine {n} 10 MG Oral Tablet"},
                "authoredOn": (now - timedelta(days=100 + n)).isoformat(),
                "dosageInstruction": [{"text": "Take 1 tablet by mouth daily."}],
                "dispenseRequest": {
                    "validityPeriod": {"end": (now + timedelta(days=200)).date().isoformat()},
                    "numberOfRepeatsAllowed": 3,
                    "expectedSupplyDuration": {"value": 30, "unit": "days", "code": "d"},
                    "performer": {"reference": "Organization/bench-pharmacy"},
                },
            }
        )
        resources.append(
            {
                "resourceType": "MedicationDispense",
                "id": f"bench-fill-{n}",
                "status": "completed",
                "subject": {"reference": "Patient/bench"},
                "medicationCodeableConcept": {"text": f"Bench medicine {n} 10 MG Oral Tablet"},
                "authorizingPrescription": [{"reference": f"MedicationRequest/bench-rx-{n}"}],
                "daysSupply": {"value": 30, "unit": "days", "code": "d"},
                "whenHandedOver": (now - timedelta(days=40)).isoformat(),
            }
        )
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.json"
        path.write_text(json.dumps(bundle))
        result = do_import_file(path, links=Links(), origin=Origin("command"))
    assert result.problems == [], result.problems
    assert Prescription.objects.count() == 40 and Fill.objects.count() == 40


def getter(client: Client, url: str) -> Callable[[], object]:
    def run() -> object:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    return run


def page_bench(user: User, pharmacy: Pharmacy, *, repeat: int, profile: int) -> None:
    # As in a server process (portal.wsgi): audit events are chained by this process's sealer
    # thread, off the request path. Its CPU is this process's, so the CPU ratios include it.
    sealer.start()
    first = Prescription.objects.filter(status="active").first()
    assert first is not None
    [outcome] = actions.check_request_refills(
        by=Actor(user), prescription_ids=[first.pk], delivery="pickup", pharmacy_id=pharmacy.pk
    )
    assert outcome.request is not None
    client = agreed_client()
    assert (
        client.post("/account/sign-in/", {"username": user.username, "password": PASSWORD}).status_code == 302
    )
    trivial = "trivial signed-in page (help)"
    pages = {
        trivial: getter(client, "/help/"),
        "medication list, first page": getter(client, "/medications/"),
        "medication list, show all": getter(client, "/medications/?all=1"),
    }
    timed = interleaved(pages, repeat)
    print(f"load average before the pages: {os.getloadavg()[0]:.1f}; {repeat} requests each")
    (wall, cpu) = timed[trivial]
    for name, (page_wall, page_cpu) in timed.items():
        print(
            f"{name:<30} wall {statistics.median(page_wall):6.2f} ms (p95 {p95(page_wall):6.2f}) "
            f"{statistics.median(page_wall) / statistics.median(wall):5.2f}x trivial; "
            f"CPU {statistics.median(page_cpu):6.2f} ms {statistics.median(page_cpu) / statistics.median(cpu):5.2f}x"
            " (target < 2x)"
        )
    if profile:
        run = pages["medication list, first page"]
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(profile):
            run()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def load_bench(user: User, pharmacy: Pharmacy, clients: int = 8, count: int = 200) -> None:
    if connection.vendor != "postgresql":
        print("refill load: skipped (needs PostgreSQL: SQLite's writes are one at a time)")
        return
    ring = keyring(user.patient_record.pk)  # type: ignore[union-attr]
    ids = []
    for n in range(count):
        rx = Prescription(
            patient=user.patient_record,
            fhir_id=f"bench-load-{n}",
            status="active",
            refills_allowed=5,
            supply_days=30,
            pharmacy=pharmacy,
            row_key=uuid.uuid4(),
        )
        for field in ("name", "strength_form", "instructions", "end_reason"):
            ring.seal_text(rx, field, f"load {n}" if field == "name" else "")
        rx.save()
        ids.append(rx.pk)
    start = threading.Barrier(clients)
    made: list[int] = []

    def client() -> None:
        order = ids[:]
        random.shuffle(order)
        start.wait()
        try:
            for pk in order:
                [outcome] = actions.check_request_refills(
                    by=Actor(user), prescription_ids=[pk], delivery="pickup", pharmacy_id=pharmacy.pk
                )
                if outcome.request is not None:
                    made.append(pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    open_per_rx = (
        RefillRequest.objects.filter(prescription_id__in=ids)
        .values("prescription_id")
        .annotate(n=Count("pk"))
    )
    duplicates = sum(row["n"] - 1 for row in open_per_rx)
    print(
        f"refill asks from {clients} clients: {clients * count} in {took:.1f} s = {clients * count / took:.0f}/s; "
        f"requests made {len(made)} (expected {count}); duplicates {duplicates}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200, help="requests to each page")
    parser.add_argument("--profile", type=int, default=0, help="then profile the first page this many times")
    parser.add_argument("--pages-only", action="store_true", help="leave out the refill load (part 2)")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if Prescription.objects.exists():
        sys.exit("This database already holds prescriptions: use an empty one.")
    user, pharmacy = world()
    forty_prescriptions()
    page_bench(user, pharmacy, repeat=args.repeat, profile=args.profile)
    if not args.pages_only:
        load_bench(user, pharmacy)


if __name__ == "__main__":
    main()
