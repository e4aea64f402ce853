"""Care team work: assigning, internal notes, completing, moving a thread to another team, signatures."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from portal.audit import log as audit
from portal.clinics.access import staff_of
from portal.clinics.models import CareTeam, StaffMember
from portal.core.acting import Actor, Refused
from portal.messaging import notifications
from portal.messaging.access import access_thread
from portal.messaging.actions._shared import _audit
from portal.messaging.models import (
    AssignmentNotice,
    InternalNote,
    StaffSignature,
    Thread,
    ThreadEvent,
)
from portal.messaging.rules import NOTE_MAX
from portal.vault.crypto import keyring


def check_assign(*, by: Actor, thread_id: int, assignee_id: int) -> Thread:
    """Assign the thread to a member of its team. A colleague assigned by someone else is told
    on their work queue, and by e-mail (fixed text) if they chose to be."""
    staff = staff_of(by.user)
    with transaction.atomic():
        thread = access_thread(by.user, thread_id, lock=True)
        assignee = (
            StaffMember.objects.filter(
                pk=assignee_id, memberships__care_team_id=thread.care_team_id, user__is_active=True
            )
            .select_related("user")
            .first()
        )
        if assignee is None:
            raise Refused("Choose a member of this care team.", field="assignee")
        thread.assigned_to = assignee
        thread.save(update_fields=["assigned_to"])
        ThreadEvent.objects.create(thread=thread, kind=ThreadEvent.Kind.ASSIGNED, by=staff, assignee=assignee)
        if assignee.pk != staff.pk:
            _tell_assignee(thread, assignee=assignee, by=staff)
        _audit(
            "thread.assigned",
            by=by,
            patient_id=thread.patient_id,
            object_type="thread",
            object_id=thread.pk,
            assignee=assignee.pk,
        )
    return thread


def _tell_assignee(thread: Thread, *, assignee: StaffMember, by: StaffMember) -> None:
    """One notice per thread and assignee until they see it: assigned again meanwhile, the
    notice names the latest colleague and time (and sends no second e-mail)."""
    waiting = AssignmentNotice.objects.filter(thread=thread, assignee=assignee, seen_at__isnull=True)
    if waiting.update(assigned_by=by, created_at=timezone.now()):
        return
    notice = AssignmentNotice.objects.create(thread=thread, assignee=assignee, assigned_by=by)
    notifications.notify_assignment(notice)


def check_mark_assignments_seen(*, by: Actor) -> int:
    """The staff member read their new assignments on the work queue: they stop showing there."""
    staff = staff_of(by.user)
    with transaction.atomic():
        seen = AssignmentNotice.objects.filter(assignee=staff, seen_at__isnull=True).update(
            seen_at=timezone.now()
        )
        _audit(
            "assignments.seen", by=by, patient_id=None, object_type="staff", object_id=staff.pk, notices=seen
        )
    return seen


def check_add_note(*, by: Actor, thread_id: int, body: str) -> InternalNote:
    staff = staff_of(by.user)
    body = body.strip()
    if not body:
        raise Refused("Enter the note.", field="note")
    if len(body) > NOTE_MAX:
        raise Refused(f"Shorten the note to {NOTE_MAX:,} characters or fewer.", field="note")
    with transaction.atomic():
        thread = access_thread(by.user, thread_id, lock=True)
        note = InternalNote(thread=thread, author=staff)
        keyring(thread.patient_id).seal_text(note, "body", body)
        note.save()
        _audit(
            "note.added",
            by=by,
            patient_id=thread.patient_id,
            object_type="note",
            object_id=note.pk,
            thread=thread.pk,
        )
    return note


def check_complete(*, by: Actor, thread_id: int) -> Thread:
    staff = staff_of(by.user)
    with transaction.atomic():
        thread = access_thread(by.user, thread_id, lock=True)
        thread.status = Thread.Status.COMPLETED
        thread.waiting_since = None
        thread.save(update_fields=["status", "waiting_since"])
        ThreadEvent.objects.create(thread=thread, kind=ThreadEvent.Kind.COMPLETED, by=staff)
        _audit(
            "thread.completed", by=by, patient_id=thread.patient_id, object_type="thread", object_id=thread.pk
        )
    return thread


def check_reassign(*, by: Actor, thread_id: int, team_id: int) -> Thread:
    """Hand the thread to another team of the same clinic; the patient sees that it moved."""
    staff = staff_of(by.user)
    with transaction.atomic():
        thread = access_thread(by.user, thread_id, lock=True)
        team = CareTeam.objects.filter(
            pk=team_id, clinic_id=thread.care_team.clinic_id, is_active=True
        ).first()
        if team is None or team.pk == thread.care_team_id:
            raise Refused("Choose another care team of this clinic.", field="team")
        old_team_id = thread.care_team_id
        moved = ThreadEvent.objects.create(
            thread=thread, kind=ThreadEvent.Kind.MOVED, by=staff, from_team_id=old_team_id, to_team=team
        )
        thread.care_team, thread.assigned_to, thread.moved_at = team, None, moved.at
        thread.save(update_fields=["care_team", "assigned_to", "moved_at"])
        _audit(
            "thread.reassigned",
            by=by,
            patient_id=thread.patient_id,
            object_type="thread",
            object_id=thread.pk,
            from_team=old_team_id,
            to_team=team.pk,
        )
    return thread


def check_save_signature(*, by: Actor, text: str) -> StaffSignature | None:
    """Save (or, when empty, remove) the staff member's reply signature."""
    staff = staff_of(by.user)
    text = text.strip()
    if len(text) > 500:
        raise Refused("Shorten the signature to 500 characters or fewer.", field="signature")
    with transaction.atomic():
        audit.record(
            "messaging.signature.changed",
            actor_id=by.user.pk,
            object_type="staff",
            object_id=staff.pk,
            client_address=by.client_address,
            details={"removed": not text},
        )
        if not text:
            StaffSignature.objects.filter(staff=staff).delete()
            return None
        signature, _ = StaffSignature.objects.update_or_create(
            staff=staff, defaults={"text": text, "updated_at": timezone.now()}
        )
    return signature
