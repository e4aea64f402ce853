"""What the health record puts on the home page and in the primary navigation (see apps.py).

The Health Record card says how many lab results and clinical notes arrived from the EHR
since the patient last opened those pages, and takes them there: counts only, never what a
result or a note says. "Since they last opened" is read from the audit log, which already
holds every page of the record a patient opens (`records.<page>_viewed`): an item imported
(or updated by the EHR) after that is new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, DateTimeField, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.seen import last_time
from portal.core.cards import Card, Line
from portal.core.navigation import NavEntry
from portal.records.models import Record
from portal.records.release import released_to_patient

# The pages whose visit counts as having looked at each kind (the audit actions they write).
LAB_PAGES = ("records.labs_viewed", "records.lab_panel_viewed", "records.lab_trend_viewed")
NOTE_PAGES = ("records.notes_viewed", "records.note_viewed")
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class NewInRecord:
    lab_results: int
    notes: int


def new_in_record(user: User) -> NewInRecord:
    """Lab panels and notes imported since `user` last opened their pages: one query."""
    patient = user.patient_record
    if patient is None:
        return NewInRecord(0, 0)

    def since(pages: tuple[str, ...]) -> Coalesce:
        seen = Subquery(last_time(actor_id=user.pk, patient_id=patient.pk, actions=pages))
        return Coalesce(seen, Value(NEVER, output_field=DateTimeField()))

    # The same rows as the Lab results and Clinical notes lists show.
    labs = Q(kind=Record.Kind.DIAGNOSTIC_REPORT, category="LAB", imported_at__gt=since(LAB_PAGES))
    notes = Q(kind=Record.Kind.DOCUMENT, has_text=True, imported_at__gt=since(NOTE_PAGES))
    # Held rows are not counted: the card, like the lists, says nothing of them (release.py).
    query = Record.objects.filter(
        patient=patient,
        kind__in=[Record.Kind.DIAGNOSTIC_REPORT, Record.Kind.DOCUMENT],
        effective_at__isnull=False,
    )
    counts = released_to_patient(query, timezone.now()).aggregate(
        labs=Count("pk", filter=labs), notes=Count("pk", filter=notes)
    )
    return NewInRecord(counts["labs"], counts["notes"])


def _patient(request: HttpRequest) -> User | None:
    user = request.user
    if isinstance(user, User) and user.is_patient and user.patient_record is not None:
        return user
    return None


def record_entry(request: HttpRequest) -> NavEntry | None:
    if _patient(request) is None:
        return None
    summary = reverse("record:summary")
    return NavEntry("Health Record", summary, order=30, paths=(summary,))


def record_card(request: HttpRequest) -> Card | None:
    patient = _patient(request)
    if patient is None:
        return None
    new = new_in_record(patient)
    lines = []
    if new.lab_results:
        plural = "s" if new.lab_results > 1 else ""
        lines.append(Line(f"{new.lab_results} new lab result{plural}", reverse("record:labs"), True, "New"))
    if new.notes:
        plural = "s" if new.notes > 1 else ""
        lines.append(Line(f"{new.notes} new clinical note{plural}", reverse("record:notes"), True, "New"))
    summary = (
        "Since you last looked:"
        if lines
        else "Your conditions, allergies, immunizations, clinical notes, lab results and radiology reports."
    )
    return Card(
        "Health Record",
        order=30,
        summary=summary,
        lines=tuple(lines),
        action=Line("Open your health record", reverse("record:summary")),
    )
