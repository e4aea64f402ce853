"""Who has seen my record: a patient's own access log, read from the audit log.

Every page of the record writes a `records.<page>_viewed` event (a download
`records.export_downloaded`) naming the patient; a staff member's read under a break-glass
grant names the grant, and the grant itself is the `break_glass.granted` event. This
selector lists those events of one patient, newest first (keyset paged on the audit log's
`(patient_id, occurred_at)` index), with who acted in words: "You", or the staff member's
name and role. Reads of this very page are left out: it is the patient's own page, and
listing its views would fill the list with itself. Viewing it is audited all the same
(`records.access_log_viewed`). A fixed number of queries per page, whatever its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.clinics.access import patient_of
from portal.clinics.models import BreakGlassGrant
from portal.core.acting import Actor, audit_event
from portal.core.paging import Cursor, Page, keyset

ENTRIES_PER_PAGE = 25
OWN_VIEWS = "records.access_log_viewed"
GRANTED = "break_glass.granted"
# What was opened, in words, by the event's action; other record reads say "Your health record".
ITEMS = {
    "records.summary_viewed": "Summary",
    "records.notes_viewed": "List of clinical notes",
    "records.note_viewed": "A clinical note",
    "records.labs_viewed": "List of lab results",
    "records.lab_panel_viewed": "A lab panel",
    "records.lab_trend_viewed": "A lab test's results over time",
    "records.imaging_viewed": "Radiology reports and studies",
    "records.export_downloaded": "Download of your record",
    # "Ask my care team about this" names the item in a new message's subject (portal/records/about.py).
    "records.lab_panel_named": "A lab panel, named in a new message",
    "records.note_named": "A clinical note, named in a new message",
    "records.imaging_report_named": "An imaging report, named in a new message",
    GRANTED: "Opened your record outside their care teams",
}
REASONS = dict(BreakGlassGrant.Reason.choices)


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    who: str  # "You", or a name
    role: str  # "" for "You"
    item: str
    break_glass: bool  # opened outside the reader's care teams
    reason: str  # a break-glass grant's reason in words ("" otherwise)


def _record_events() -> Q:
    reads = Q(action__startswith="records.") & (
        Q(action__endswith="_viewed") | Q(action__endswith="_downloaded") | Q(action__endswith="_named")
    )
    return (reads & ~Q(action=OWN_VIEWS)) | Q(action=GRANTED)


def _who(user: User | None, reader: User) -> tuple[str, str]:
    if user is not None and user.pk == reader.pk:
        return "You", ""
    staff = user.staff_record if user is not None else None
    if staff is not None:
        return staff.display_name, staff.get_role_display()
    return "Someone without a name in the portal", ""


def access_log_of(by: Actor, *, cursor: Cursor | None, others_only: bool = False) -> Page[Entry]:
    """One page of who opened the signed-in patient's own record, newest first (Http404 for
    anyone who is not a patient: staff do not read a patient's access log here)."""
    patient = patient_of(by.user)
    audit_event(OWN_VIEWS, by=by, patient_id=patient.pk, object_type="patient", object_id=patient.pk)
    events = AuditEvent.objects.filter(
        _record_events(), patient_id=patient.pk, outcome=AuditEvent.Outcome.SUCCESS
    )
    if others_only:
        events = events.exclude(actor_id=by.user.pk)
    rows, next_cursor = keyset(events, cursor, field="occurred_at", size=ENTRIES_PER_PAGE)
    actors = {
        u.pk: u for u in User.objects.filter(pk__in={e.actor_id for e in rows}).select_related("staff_member")
    }
    entries = []
    for event in rows:
        who, role = _who(actors.get(event.actor_id or 0), by.user)
        granted = event.action == GRANTED
        entries.append(
            Entry(
                event.pk,
                event.occurred_at,
                who,
                role,
                ITEMS.get(event.action, "Your health record"),
                granted or "break_glass_grant" in event.details,
                REASONS.get(str(event.details.get("reason", "")), "") if granted else "",
            )
        )
    return Page(entries, next_cursor)
