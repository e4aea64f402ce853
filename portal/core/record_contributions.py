"""What other domains add to the patient's "Download my record".

The health record's export (`portal/records/exports/`) makes the FHIR bundle, the PDF and the
plain text; the other domains' data (refill requests...) belongs in them too, but records never
imports those domains. Each registers a contributor here in its AppConfig.ready(): given the
actor who asked (the patient: the contributor goes through its own door with them) and the
period, it answers its FHIR resources and, for the PDF and the text, a part in words. The
export appends what every contributor gives, in the order they registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portal.core.acting import Actor


@dataclass(frozen=True)
class Row:
    """One thing of a part: its title and its fields ("Label", "value")."""

    title: str
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Part:
    """A part of the record in words, read as a table: the title's column, then each field's label."""

    title: str
    empty: str  # "No refill requests on record." (a part without rows is left out of the file)
    columns: tuple[str, ...]
    rows: list[Row]


@dataclass(frozen=True)
class Contribution:
    resources: list[dict[str, Any]]  # FHIR R4 resources, for the bundle
    part: Part  # the same things in words, for the PDF and the text


# (actor, patient id, first day, last day) -> the contribution; a day of None: unbounded.
Contributor = Callable[["Actor", int, date | None, date | None], Contribution]

_contributors: list[Contributor] = []


def register_record_contribution(contributor: Contributor) -> Contributor:
    if contributor not in _contributors:
        _contributors.append(contributor)
    return contributor


def contributions_for(
    by: Actor, patient_id: int, starts_on: date | None = None, ends_on: date | None = None
) -> list[Contribution]:
    """Every registered domain's contribution to the patient's record, through its own door."""
    return [contributor(by, patient_id, starts_on, ends_on) for contributor in _contributors]
