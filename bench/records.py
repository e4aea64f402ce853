"""Benchmark of the FHIR import: all shared bundles into an empty database, then again.

    PORTAL_VAR_DIR=/tmp/bench-records PORTAL_ENV=test .venv/bin/python bench/records.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_records PORTAL_ENV=test \
        .venv/bin/python bench/records.py

Migrates the database named by the environment, refuses to run if it already holds
records, and prints entries per second for: fhir.resources alone parsing (json) and
validating every entry resource by resource (R4B), the same for only the kinds the
portal keeps, the first import (support bundles first, each patient linked to a DoD ID
of its own) and a re-import of the same files (all unchanged). One process, one core.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("PORTAL_ENV", "test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from fhir.resources.R4B import get_fhir_model_class  # noqa: E402

from portal.records.actions import do_import_file  # noqa: E402
from portal.records.importer import Links, Origin  # noqa: E402
from portal.records.importer.loading import STORED_KINDS  # noqa: E402
from portal.records.models import Record  # noqa: E402

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


def main() -> None:
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


if __name__ == "__main__":
    main()
