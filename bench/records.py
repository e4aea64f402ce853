"""Benchmark of the FHIR import: all shared bundles into an empty database, then again.

    PORTAL_VAR_DIR=/tmp/bench-records PORTAL_ENV=test .venv/bin/python bench/records.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_records PORTAL_ENV=test \
        .venv/bin/python bench/records.py

Migrates the database named by the environment, refuses to run if it already holds
records, and prints entries per second for: fhir.resources alone parsing (json) and
validating every entry resource by resource (R4B), the same for only the kinds the
portal keeps, the first import (support bundles first, each patient linked to a DoD ID
of its own) and a re-import of the same files (all unchanged). One process, one core.

Then the pages, with the demo health records loaded too (untimed; the demo's Paula has
more Observations and lab panels than any shared patient): the patient with the most
Observations signs in (a real session through
Django's test client), and the lab results page and the trend of their most measured lab
test are timed beside a trivial signed-in page (the help page: same middleware, session and
layout, no record), taking turns request by request so a busy moment slows all alike; each
is printed as median and p95 and as a ratio to the trivial page (target: under 2x), in wall
time and in this process's CPU time (which a busy machine disturbs less). Beside them, the
lab results page of a patient with no record: what any audited record page costs with
nothing to read (the audit event; its sealing is off the request path, as in a server).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
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
from fhir.resources.R4B import get_fhir_model_class  # noqa: E402

from bench.consent import agreed_client  # noqa: E402
from bench.timing import interleaved, p95  # noqa: E402
from portal.accounts.models import TermsAcceptance, User  # noqa: E402
from portal.accounts.selectors import current_terms  # noqa: E402
from portal.audit import sealer  # noqa: E402
from portal.clinics.models import Patient  # noqa: E402
from portal.records import demo  # noqa: E402
from portal.records.actions import do_import_file  # noqa: E402
from portal.records.importer import Links, Origin  # noqa: E402
from portal.records.importer.loading import STORED_KINDS  # noqa: E402
from portal.records.models import Measurement, Record  # noqa: E402

PASSWORD = "bench password for the record pages"  # noqa: S105 - a throwaway bench account

FHIR = Path(__file__).resolve().parent.parent.parent / "shared" / "fhir"
FILES = sorted((FHIR / "support").glob("*.json")) + sorted((FHIR / "bundles").glob("*.json"))


def fhir_resources_alone(*, kept_only: bool) -> tuple[int, float]:
    started = time.perf_counter()
    count = 0
    for path in FILES:
        for entry in json.loads(path.read_bytes())["entry"]:
            resource = entry["resource"]
            if kept_only and resource["resourceType"] not in STORED_KINDS:
                continue
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            count += 1
    return count, time.perf_counter() - started


def links() -> Links:
    found = {}
    for number, path in enumerate(sorted((FHIR / "bundles").glob("*.json")), start=1):
        entries = json.loads(path.read_bytes())["entry"]
        fhir_id = next(e["resource"]["id"] for e in entries if e["resource"]["resourceType"] == "Patient")
        found[fhir_id] = f"98100000{number:02d}"
    return Links(by_fhir_id=found)


def import_all(given: Links) -> tuple[int, float, int]:
    started = time.perf_counter()
    results = [do_import_file(path, links=given, origin=Origin("command")) for path in FILES]
    seconds = time.perf_counter() - started
    refused = sum(not r.imported for r in results)
    return sum(r.entries for r in results), seconds, refused


def signed_in(patient: Patient, username: str) -> Client:
    """`patient`, given an account past the first sign-in steps, signed in for real."""
    now = timezone.now()
    patient.user = User.objects.create_user(
        username=username,
        password=PASSWORD,
        kind=User.Kind.PATIENT,
        email_confirmed_at=now,
        contact_verified_at=now,
        mfa_offered_at=now,
    )
    patient.save(update_fields=["user"])
    terms = current_terms()
    if terms is not None:
        TermsAcceptance.objects.get_or_create(user=patient.user, terms=terms)
    client = agreed_client()
    response = client.post("/account/sign-in/", {"username": username, "password": PASSWORD})
    if response.status_code != 302:
        sys.exit(f"the bench patient could not sign in ({response.status_code})")
    return client


def patient_with_most_observations() -> Patient:
    top = (
        Record.objects.filter(kind=Record.Kind.OBSERVATION)
        .values("patient")
        .annotate(count=Count("pk"))
        .order_by("-count", "patient")
        .first()
    )
    assert top is not None
    return Patient.objects.get(pk=top["patient"])


def most_measured_lab_test(patient: Patient) -> tuple[str, int]:
    found = (
        Measurement.objects.filter(
            patient=patient, record__category="laboratory", value__isnull=False, effective_at__isnull=False
        )
        .values("code")
        .annotate(count=Count("pk"))
        .order_by("-count", "code")
        .first()
    )
    assert found is not None
    return found["code"], found["count"]


def getter(client: Client) -> Callable[[str], Callable[[], object]]:
    def get(path: str) -> Callable[[], object]:
        def run() -> object:
            response = client.get(path)
            if response.status_code != 200:
                sys.exit(f"{path} answered {response.status_code}")
            return response

        return run

    return get


def pages(repeat: int) -> None:
    # As in a server process (portal.wsgi): audit events are chained by this process's sealer
    # thread, off the request path. Its CPU is this process's, so the CPU ratios include it.
    sealer.start()
    patient = patient_with_most_observations()
    get = getter(signed_in(patient, "bench-records"))
    # A patient with no record at all: the same audited page with nothing to read (the floor).
    empty = Patient.objects.create(
        dod_id="9819999999", first_name="E", last_name="Mpty", birth_date="1980-01-01"
    )
    get_empty = getter(signed_in(empty, "bench-empty"))
    code, points = most_measured_lab_test(patient)
    observations = Record.objects.filter(patient=patient, kind=Record.Kind.OBSERVATION).count()
    panels = Record.objects.filter(
        patient=patient, kind=Record.Kind.DIAGNOSTIC_REPORT, category="LAB"
    ).count()
    trivial = "trivial signed-in page (help)"
    timed = interleaved(
        {
            trivial: get("/help/"),
            "lab results, an empty record": get_empty("/record/labs/"),
            "lab results (first page)": get("/record/labs/"),
            f"trend of LOINC {code} ({points} results)": get(f"/record/labs/trend/{code}/"),
        },
        repeat,
    )
    print(
        f"pages of the patient with the most Observations: {observations} Observations, {panels} LAB panels"
    )
    (wall, cpu) = timed[trivial]
    for name, (page_wall, page_cpu) in timed.items():
        print(
            f"{name:<40} wall {statistics.median(page_wall):6.2f} ms (p95 {p95(page_wall):6.2f}) "
            f"{statistics.median(page_wall) / statistics.median(wall):5.2f}x trivial; "
            f"CPU {statistics.median(page_cpu):6.2f} ms {statistics.median(page_cpu) / statistics.median(cpu):5.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=100, help="requests to each page")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if Record.objects.exists():
        sys.exit("The database already holds records: give the bench an empty one.")
    given = links()
    print(f"database: {connection.vendor}; {len(FILES)} bundles")
    every, every_s = fhir_resources_alone(kept_only=False)
    kept, kept_s = fhir_resources_alone(kept_only=True)
    first, first_s, refused = import_all(given)
    again, again_s, refused_again = import_all(given)
    rows = [
        ("fhir.resources alone, every entry", every, every_s),
        ("fhir.resources alone, kinds kept", kept, kept_s),
        ("first import", first, first_s),
        ("re-import (all unchanged)", again, again_s),
    ]
    for label, count, seconds in rows:
        print(f"{label:<36} {count:>6} entries {seconds:>6.2f} s {count / seconds:>8.0f} entries/s")
    print(f"refused bundles: {refused} first, {refused_again} again")
    print(f"first import / fhir.resources alone (every entry): {(first / first_s) / (every / every_s):.2f}")
    print(f"re-import speed-up over the first: {first_s / again_s:.1f}x")
    demo.load()
    pages(args.repeat)


if __name__ == "__main__":
    main()
