"""The care team side: a team's pool, its members, drafts of replies, counts."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db.models import Q
from django.template.defaultfilters import pluralize
from django.utils import timezone

from portal.accounts.models import User
from portal.clinics.access import patient_of, staff_of
from portal.clinics.models import CareTeam, Patient, StaffMember
from portal.core.paging import Cursor, Page, keyset
from portal.messaging import rules
from portal.messaging.access import threads_visible_to
from portal.messaging.models import Attachment, Draft, Thread
from portal.messaging.selectors.mailbox import (
    DraftView,
    ThreadRow,
    draft_view,
    patient_threads,
)
from portal.vault.crypto import Binding, keyring
from portal.vault.reading import keyrings, read_sealed

VIEWS = ("waiting", "mine", "all")
AGES = {"": None, "1": 1, "3": 3, "7": 7, "30": 30}


def team_threads(
    user: User,
    team: CareTeam,
    *,
    view: str = "waiting",
    category: str = "",
    older_than_days: int | None = None,
    cursor: Cursor | None = None,
    size: int = 25,
) -> Page[ThreadRow]:
    """The team's message pool, as one staff member of that team sees it."""
    staff = staff_of(user)
    query = (
        threads_visible_to(user).filter(care_team=team).select_related("patient", "assigned_to", "care_team")
    )
    if view == "waiting":
        query = query.filter(waiting_since__isnull=False)
    elif view == "mine":
        query = query.filter(assigned_to=staff)
    if category:
        query = query.filter(category=category)
    if older_than_days:
        query = query.filter(last_message_at__lte=timezone.now() - timedelta(days=older_than_days))
    threads, next_cursor = keyset(query, cursor, field="last_message_at", size=size)
    now = timezone.now()
    rings = keyrings({t.patient_id for t in threads})
    rows = []
    for thread in threads:
        ring = rings[thread.patient_id]
        rows.append(
            ThreadRow(
                thread,
                read_sealed(ring, thread, "subject"),
                thread.waiting_since is not None,
                rules.is_overdue(thread, now=now),
            )
        )
    return Page(rows, next_cursor)


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


def waiting_count(user: User, team: CareTeam) -> int:
    return threads_visible_to(user).filter(care_team=team, waiting_since__isnull=False).count()


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
