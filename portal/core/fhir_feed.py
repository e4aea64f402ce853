"""What the EHR sent, handed to the domains that keep their own rows of it.

The health record imports FHIR bundles and keeps every resource (`records`). Other
domains keep working rows of some kinds: medications its prescriptions and fills
(`MedicationRequest`, `MedicationDispense`), appointments the past visits
(`Encounter`). Domains never import each other, so a domain registers a consumer here
(in its AppConfig.ready()) for the kinds it keeps, and the importer calls it inside
the bundle's transaction, after the bundle's records are written: a consumer that
raises refuses the whole bundle, so the domains never disagree with the record.

A consumer is called only with what this import created or changed (an unchanged
resource was handed over when it first came), once per bundle, with every such
resource of its kinds. It must be idempotent (the same resource may come again with a
newer version) and must not read the records' tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Fed:
    """One resource as the import stored it."""

    kind: str  # the FHIR resource type
    fhir_id: str
    patient_id: int
    record_id: int  # the health record's row for it: what a link back to the record names
    resource: Mapping[str, Any]  # the JSON as received: keep what you need sealed, never in clear
    title: str  # the words of its code (a prescription's: the medication's name, from a Medication too)
    state: str  # "created" or "updated"
    name_of: Callable[
        [str], str
    ]  # a reference's display name (Practitioner, Organization, Location, Medication)
    record_of: Callable[
        [str], int | None
    ]  # a reference's record row id (an Encounter, a MedicationRequest...)
    identifiers_of: Callable[[str], list[tuple[str, str]]] = lambda ref: []
    # a reference's business identifiers as (system, value): a Practitioner's NPI, from the
    # resource in this bundle or as kept from an earlier one (directory data, not a patient's)


Consumer = Callable[[Sequence[Fed]], None]

_consumers: list[tuple[frozenset[str], Consumer]] = []


def register_fhir_consumer(kinds: set[str] | frozenset[str], consumer: Consumer) -> None:
    """`consumer` is handed every created or updated resource of `kinds`, a bundle at a time."""
    entry = (frozenset(kinds), consumer)
    if entry not in _consumers:
        _consumers.append(entry)


def wanted_kinds() -> frozenset[str]:
    """Every kind some domain consumes (the importer builds `Fed`s only for these)."""
    return frozenset().union(*(kinds for kinds, _ in _consumers)) if _consumers else frozenset()


def hand_over(fed: Sequence[Fed]) -> None:
    """Call each consumer with the resources of its kinds, in the order the import wrote them."""
    for kinds, consumer in list(_consumers):
        mine = [item for item in fed if item.kind in kinds]
        if mine:
            consumer(mine)
