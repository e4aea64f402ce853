"""Demo health records, made by the project's own code and loaded through the FHIR import.

`bundles()` builds FHIR R4 bundles (plain dicts) for the demo patients of
`portal.clinics.demo`: a directory bundle (the hospital, its laboratory and places, its
practitioners) and one transaction bundle per patient, whose Patient carries the demo
patient's DoD ID under `PORTAL_FHIR_DOD_ID_SYSTEM`, so the import links it with no
`--link`. `load()` imports them as JSON through the same importer the EHR's bundles go
through; a second load finds every entry unchanged. Every person, place and value is
made up (see `patients` for who has what); nothing is copied from any other data set.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings

from portal.records.actions import do_import_bundle
from portal.records.demo import directory, patients
from portal.records.demo.build import BASE, Json
from portal.records.importer import Links, Origin, parse_bytes

# (bundle name, the demo patient's username, how rich the record is)
WHO = [("paula", "rich"), ("evan", "modest"), ("maya", "nearly empty")]


class DemoRefused(Exception):
    """The demo records were not loaded (production, or a bundle the import refused)."""


def _bundle(resources: list[Json], kind: str) -> Json:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {
                "fullUrl": f"{BASE}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in resources
        ],
    }


def bundles() -> list[tuple[str, Json]]:
    """The demo bundles, directory first, as (file name, bundle): the same JSON on every call."""
    return [
        ("demo-directory.json", _bundle(directory.directory(), "batch")),
        ("demo-paula.json", _bundle([*patients.paula(), directory.formulary_metformin()], "transaction")),
        ("demo-evan.json", _bundle([*patients.evan(), directory.formulary_metformin()], "transaction")),
        ("demo-maya.json", _bundle(patients.maya(), "transaction")),
    ]


@dataclass
class Loaded:
    bundles: int = 0
    counts: Counter[str] = field(default_factory=Counter)  # entries by state: created, unchanged...

    @property
    def changed(self) -> bool:
        return bool(self.counts["created"] or self.counts["updated"])

    def said(self) -> str:
        who = ", ".join(f"{name.capitalize()} ({richness})" for name, richness in WHO)
        if not self.changed:
            return (
                f"Demo health records already present; nothing changed "
                f"({self.bundles} bundles, {self.counts['unchanged']} entries unchanged)."
            )
        return (
            f"Demo health records imported for {who}: {self.bundles} bundles, "
            f"{self.counts['created']} entries created, {self.counts['updated']} updated, "
            f"{self.counts['unchanged']} unchanged."
        )


def load() -> Loaded:
    """Import the demo bundles through the FHIR import; never with PORTAL_ENV=production."""
    if settings.PRODUCTION:
        raise DemoRefused("Demo data is never loaded with PORTAL_ENV=production.")
    loaded = Loaded()
    for name, bundle in bundles():
        parsed = parse_bytes(json.dumps(bundle, ensure_ascii=False).encode(), source=name)
        result = do_import_bundle(parsed, links=Links(), origin=Origin("demo"))
        if not result.imported:
            problems = "; ".join(str(p) for p in result.problems[:5])
            raise DemoRefused(f"{name} was refused by the import: {problems}")
        loaded.bundles += 1
        for by_state in result.counts.values():
            loaded.counts.update(by_state)
    return loaded
