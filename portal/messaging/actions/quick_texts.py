"""A care team's quick texts: added, changed and deleted by the team's staff, and put into a reply.

Quick texts are the team's words, not a patient's: stored in the clear, audited by
id. Putting one into a reply saves the reply as the staff member's draft (sealed,
as every draft), with `{first_name}` filled in from the thread's patient then.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from portal.clinics.access import access_team_inbox, staff_of
from portal.core.acting import Actor, Refused, refuse
from portal.messaging import rules
from portal.messaging.access import access_quick_text, access_thread
from portal.messaging.actions._shared import _audit
from portal.messaging.actions.drafts import check_save_staff_draft
from portal.messaging.models import Draft, QuickText

TITLE_TAKEN = "Your team already has a quick text with this title. Choose another title."


def _checked(title: str, text: str) -> tuple[str, str]:
    """The title and text as they will be kept, or the first thing to fix, said for its field."""
    title = " ".join(title.split())
    text = text.strip()
    if not title:
        raise Refused("Enter a title, so your team can tell the quick texts apart.", field="title")
    if len(title) > rules.QUICK_TEXT_TITLE_MAX:
        raise Refused(
            f"Shorten the title to {rules.QUICK_TEXT_TITLE_MAX} characters or fewer.", field="title"
        )
    if not text:
        raise Refused("Enter the text to put into replies.", field="text")
    if len(text) > rules.QUICK_TEXT_MAX:
        raise Refused(f"Shorten the text to {rules.QUICK_TEXT_MAX:,} characters or fewer.", field="text")
    unknown = rules.unknown_placeholders(text)
    if unknown:
        raise Refused(
            f"Only {rules.FIRST_NAME} is filled in. Remove {', '.join(unknown)} or write it out.",
            field="text",
        )
    return title, text


def _title_taken(team_id: int, title: str, *, other_than: int | None = None) -> bool:
    same = QuickText.objects.annotate(lower=Lower("title")).filter(care_team_id=team_id, lower=title.lower())
    return same.exclude(pk=other_than).exists() if other_than else same.exists()


def check_add_quick_text(*, by: Actor, team_id: int, title: str, text: str) -> QuickText:
    staff = staff_of(by.user)
    team = access_team_inbox(by.user, team_id)
    title, text = _checked(title, text)
    if _title_taken(team.pk, title):
        raise Refused(TITLE_TAKEN, field="title")
    try:
        with transaction.atomic():
            quick_text = QuickText.objects.create(care_team=team, title=title, text=text, created_by=staff)
            _audit(
                "quick_text.added",
                by=by,
                patient_id=None,
                object_type="quick_text",
                object_id=quick_text.pk,
                team=team.pk,
            )
    except IntegrityError:  # a colleague took the title a moment ago
        raise Refused(TITLE_TAKEN, field="title") from None
    return quick_text


def check_change_quick_text(*, by: Actor, quick_text_id: int, title: str, text: str) -> QuickText:
    staff_of(by.user)
    access_quick_text(by.user, quick_text_id)  # not the team's: 404 before any other answer
    title, text = _checked(title, text)
    try:
        with transaction.atomic():
            quick_text = access_quick_text(by.user, quick_text_id, lock=True)
            if _title_taken(quick_text.care_team_id, title, other_than=quick_text.pk):
                raise Refused(TITLE_TAKEN, field="title")
            quick_text.title, quick_text.text, quick_text.updated_at = title, text, timezone.now()
            quick_text.save(update_fields=["title", "text", "updated_at"])
            _audit(
                "quick_text.changed",
                by=by,
                patient_id=None,
                object_type="quick_text",
                object_id=quick_text.pk,
                team=quick_text.care_team_id,
            )
    except IntegrityError:
        raise Refused(TITLE_TAKEN, field="title") from None
    return quick_text


def check_delete_quick_text(*, by: Actor, quick_text_id: int) -> QuickText:
    """Delete a quick text of one's team (replies it went into keep their words)."""
    staff_of(by.user)
    with transaction.atomic():
        quick_text = access_quick_text(by.user, quick_text_id, lock=True)
        _audit(
            "quick_text.deleted",
            by=by,
            patient_id=None,
            object_type="quick_text",
            object_id=quick_text.pk,
            team=quick_text.care_team_id,
        )
        quick_text.delete()
    return quick_text


def check_use_quick_text(
    *, by: Actor, thread_id: int, quick_text_id: int, send_token: uuid.UUID, body: str, add_signature: bool
) -> Draft:
    """Put a quick text of the thread's team at the end of the reply typed so far, and save
    that as the staff member's draft (the page without script; with it, the text goes in at
    the cursor and the draft saves itself as the reply is edited)."""
    thread = access_thread(by.user, thread_id, with_keys=True)
    quick_text = access_quick_text(by.user, quick_text_id)
    if quick_text.care_team_id != thread.care_team_id:
        raise refuse(by.user, "quick_text", quick_text_id)  # another of their teams' texts
    filled = rules.fill_quick_text(quick_text.text, first_name=thread.patient.first_name)
    typed = body.rstrip()
    return check_save_staff_draft(
        by=by,
        send_token=send_token,
        thread_id=thread_id,
        thread=thread,
        body=f"{typed}\n\n{filled}" if typed else filled,
        add_signature=add_signature,
    )
