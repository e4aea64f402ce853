"""The care team side: a team's members, drafts of replies, signatures (the pool: `pool.py`)."""

from __future__ import annotations

import uuid

from django.db.models import Q
from django.template.defaultfilters import pluralize

from portal.accounts.models import User
from portal.clinics.access import patient_of
from portal.clinics.models import CareTeam, Patient, StaffMember
from portal.messaging.access import threads_visible_to
from portal.messaging.models import Attachment, Draft, Thread
from portal.messaging.selectors.mailbox import (
    DraftView,
    ThreadRow,
    draft_view,
    patient_threads,
)
from portal.vault.crypto import Binding, keyring
from portal.vault.reading import read_sealed


def team_members(team: CareTeam) -> list[StaffMember]:
    return list(
        StaffMember.objects.filter(memberships__care_team=team, user__is_active=True).order_by("last_name")
    )


def reassign_targets(thread: Thread) -> list[CareTeam]:
    return list(
        CareTeam.objects.filter(clinic_id=thread.care_team.clinic_id, is_active=True)
        .exclude(pk=thread.care_team_id)
        .order_by("name")
    )


def open_thread_count(team: CareTeam) -> int:
    """Conversations of the team not marked completed (for the operator console: no names, no text)."""
    return Thread.objects.filter(care_team=team, status=Thread.Status.OPEN).count()


def reply_draft(
    user: User, thread: Thread, *, send_token: uuid.UUID | None = None, draft_id: int | None = None
) -> DraftView | None:
    """The user's own unsent reply in a thread they were let into, if any (drafts keep their files).

    The patient's or the staff member's, never the other's nor a colleague's.
    With `send_token`, the draft of that form; otherwise the latest.
    """
    if send_token is None and draft_id is None and not getattr(thread, "has_own_draft", True):
        return None  # access_thread_page found none, in the same query as the thread
    drafts = Draft.objects.filter(author=user, thread=thread, patient_id=thread.patient_id)
    draft = drafts.filter(send_token=send_token).first() if send_token is not None else None
    draft = draft or (drafts.filter(pk=draft_id).first() if draft_id is not None else None)
    draft = draft or drafts.order_by("-updated_at", "-id").first()
    return draft_view(user, draft) if draft is not None else None


def latest_threads(user: User, *, size: int = 3) -> list[ThreadRow]:
    if user.patient_record is None:
        return []
    return patient_threads(user, box="inbox", size=size).rows


def attachment_content(attachment: Attachment) -> tuple[str, bytes]:
    """The file's name and bytes, for a caller that passed `access_attachment`."""
    from portal.vault.files import read_file

    ring = keyring(attachment.patient_id)
    return ring.open_text(attachment, "name"), read_file(
        ring, Binding.of(attachment, "content"), attachment.storage_name
    )


def teams_to_write(user: User) -> list[CareTeam]:
    """The care teams this patient may message, the one written to most recently first."""
    from django.db.models import Max

    patient = patient_of(user)
    teams = CareTeam.objects.filter(is_active=True, patient_links__patient=patient).select_related("clinic")
    teams = teams.annotate(
        last=Max("message_threads__last_message_at", filter=Q(message_threads__patient=patient))
    )

    def recent_first(team: CareTeam) -> tuple[bool, float, str]:
        last = getattr(team, "last", None)
        return (last is None, -(last.timestamp() if last else 0.0), team.name)

    return sorted(teams, key=recent_first)


def signature_of(user: User) -> str:
    from portal.messaging.models import StaffSignature

    signature = StaffSignature.objects.filter(staff__user=user).first()
    return signature.text if signature is not None else ""


def open_conversations_note(team: CareTeam) -> str | None:
    """For the operator console: why the team cannot be switched off yet, or None."""
    waiting = open_thread_count(team)
    if not waiting:
        return None
    return (
        f"{team.name} still has {waiting} open conversation{pluralize(waiting)}. "
        "Before switching the team off, its staff move them to another team of the clinic "
        "(Move, on the conversation's page) or mark them completed."
    )


def patient_conversations(user: User, patient: Patient, *, size: int = 100) -> list[ThreadRow]:
    """A patient's conversations this staff member may open now, newest first: their teams'
    and, under a break-glass grant, all of the patient's. `patient` comes from `access_patient`."""
    threads = list(
        threads_visible_to(user)
        .filter(patient=patient)
        .select_related("care_team")
        .order_by("-last_message_at", "-id")[:size]
    )
    ring = keyring(patient.pk)
    return [ThreadRow(thread, read_sealed(ring, thread, "subject"), unread=False) for thread in threads]


def thread_subject(thread: Thread) -> str:
    """The subject of a thread from `access_thread(..., with_keys=True)`, for a page that names it."""
    ring = getattr(thread, "keyring", None) or keyring(thread.patient_id)
    return read_sealed(ring, thread, "subject")
