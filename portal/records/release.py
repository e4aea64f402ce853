"""The release hold: how long a new result or note waits before its patient sees it.

`PORTAL_RECORD_RELEASE_HOLD` gives hours per category (`LAB=72,RAD=72,clinical-note=24`),
none by default: US information-blocking rules expect results and notes released to the
patient without delay, and an organization that holds some must say which. A row is held
from its patient until `available_at` (when the EHR released it: `issued`, a note's `date`)
plus the hold of its category; staff see every row at once.

Which rows a category's hold covers:

- rows whose `category` is that code; `LAB` and `laboratory` (the HL7 v2 and the FHIR
  Observation codes for laboratory) are one hold, and so are `RAD` and `imaging`; when both
  names are given, the longer hold applies;
- a result that belongs to a held report (an Observation of a lab panel): while its panel
  waits, so do its values, in the panel, in a trend and in the summary;
- for `clinical-note`: every note, whatever category the EHR gave it (a DocumentReference, or
  a DiagnosticReport with text that is not a lab or radiology report, as Synthea files each
  note a second time).

`released_to_patient` is the one filter every read a patient makes goes through (the doors
in access.py, and each selector's lists, trends and latest values): a held row is left out
of lists with nothing said about it, and its id answers the same 404 as a missing one.
The setting is read at each call, so a changed hold applies at the next request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Model, Q, QuerySet

from portal.records.models import Record

if TYPE_CHECKING:
    from portal.accounts.models import User

M = TypeVar("M", bound=Model)

NOTE = "clinical-note"
# Codes of one kind of result in two code systems (HL7 v2 0074, FHIR observation-category).
SAME_HOLD = (frozenset({"LAB", "laboratory"}), frozenset({"RAD", "imaging"}))
REPORT_CATEGORIES = frozenset().union(*SAME_HOLD)


def holds() -> dict[str, timedelta]:
    """Each held category code and its hold, synonyms included (the longer hold wins)."""
    found: dict[str, timedelta] = {}
    for name, hours in settings.PORTAL_RECORD_RELEASE_HOLD.items():
        if hours <= 0:
            continue
        for code in next((group for group in SAME_HOLD if name in group), frozenset({name})):
            found[code] = max(found.get(code, timedelta(0)), timedelta(hours=hours))
    return found


def _held_row(now: datetime, prefix: str) -> Q | None:
    """Rows (reached by `prefix`, e.g. "record__") whose own category's hold has not ended at `now`."""
    held: Q | None = None
    for code, hold in holds().items():
        covered = Q(**{f"{prefix}category": code})
        if code == NOTE:
            covered |= Q(**{f"{prefix}kind": Record.Kind.DOCUMENT})
            covered |= Q(**{f"{prefix}kind": Record.Kind.DIAGNOSTIC_REPORT, f"{prefix}has_text": True}) & ~Q(
                **{f"{prefix}category__in": REPORT_CATEGORIES}
            )
        condition = covered & Q(**{f"{prefix}available_at__gt": now - hold})
        held = condition if held is None else held | condition
    return held


def held_from_patient(now: datetime, *, prefix: str = "") -> Q | None:
    """Rows still held from their patient at `now`, by their own hold or their report's; None
    when no hold is set (then nothing is held and queries stay as they are)."""
    own = _held_row(now, prefix)
    report = _held_row(now, f"{prefix}report__")
    if own is None or report is None:
        return None
    return own | report


def released_to_patient(query: QuerySet[M], now: datetime, *, prefix: str = "") -> QuerySet[M]:
    """`query` without the rows held from the patient at `now`.

    `prefix` leads from the query's model to its Record: "" for records, "record__" for
    measurements."""
    held = held_from_patient(now, prefix=prefix)
    return query if held is None else query.exclude(held)


def held_results_sql(user: User, now: datetime, *, alias: str) -> tuple[str, list[Any]]:
    """`readable_by` in SQL, for a raw query over Observations (table alias `alias`) whose
    report the reader may read: " AND NOT (...)" leaving out the rows held by their own
    category's hold, and its parameters; ("", []) for staff or when nothing is held.

    Only the category rule reaches an Observation (the note rule covers documents and
    reports), and its report's hold is already passed: the report was read through
    `readable_by`.
    `test_release_hold.py` checks both say the same."""
    found = holds()
    if user.is_staff_member or not found:
        return "", []
    adapt = connection.ops.adapt_datetimefield_value
    conditions, params = [], []
    for code, hold in found.items():
        conditions.append(f"({alias}.category = %s AND {alias}.available_at > %s)")
        params += [code, adapt(now - hold)]
    return f" AND NOT ({' OR '.join(conditions)})", params


def readable_by(user: User, query: QuerySet[M], now: datetime, *, prefix: str = "") -> QuerySet[M]:
    """What of `query` `user` may read at `now`: staff everything, anyone else what is released."""
    if user.is_staff_member:
        return query
    return released_to_patient(query, now, prefix=prefix)
