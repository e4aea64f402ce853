"""What messaging puts on the home page and in the primary navigation (registered in apps.py).

The card takes the patient straight to what waits: an unread conversation itself (the newest
few), every unread one wherever it is filed (the Inbox's Unread view), and a message started
and not sent (the draft itself, or the Drafts list). The Messages entry carries the unread
count; the card and the entry share it, so a page asks for it once.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from portal.accounts.models import User
from portal.core.cards import Card, Line
from portal.core.navigation import NavEntry, once_per_request
from portal.messaging import selectors

UNREAD_COUNT = "messaging.unread"  # the per-request key of the patient's unread count


def _patient(request: HttpRequest) -> User | None:
    user = request.user
    if isinstance(user, User) and user.is_patient and user.patient_record is not None:
        return user
    return None


def messages_entry(request: HttpRequest) -> NavEntry | None:
    user = request.user
    if isinstance(user, User) and user.is_staff_member:
        teams = reverse("messaging_staff:teams")
        return NavEntry("Messages", teams, order=20, paths=(teams,))
    patient = _patient(request)
    if patient is None:
        return None
    count = once_per_request(request, UNREAD_COUNT, lambda: selectors.unread_count(patient))
    inbox = reverse("messaging:inbox")
    return NavEntry("Messages", inbox, order=20, count=count, counts="unread", paths=(inbox,))


def messages_card(request: HttpRequest) -> Card | None:
    patient = _patient(request)
    if patient is None:
        return None
    waiting = selectors.waiting_for(patient)
    once_per_request(request, UNREAD_COUNT, lambda: waiting.unread)
    lines = [
        Line(row.subject, reverse("messaging:thread", args=[row.thread.pk]), attention=True, tag="Unread")
        for row in waiting.unread_rows
    ]
    if waiting.unread > 1:
        lines.append(
            Line(f"All {waiting.unread} unread conversations", reverse("messaging:unread"), attention=True)
        )
    drafts = len(waiting.draft_ids)
    if drafts == 1:
        lines.append(
            Line(
                "A message you started is not sent yet",
                reverse("messaging:open_draft", args=[waiting.draft_ids[0]]),
                attention=True,
                tag="Draft",
            )
        )
    elif drafts > 1:
        lines.append(
            Line(
                f"{drafts} messages you started are not sent yet",
                reverse("messaging:drafts"),
                attention=True,
                tag="Draft",
            )
        )
    if waiting.unread:
        summary = f"You have {waiting.unread} unread conversation{'s' if waiting.unread > 1 else ''}."
    elif lines:
        summary = "No unread messages."
    else:
        # Nothing waits: the latest conversations, to pick one up again.
        recent = selectors.latest_threads(patient)
        summary = "No unread messages. Your latest conversations:" if recent else "No unread messages."
        lines = [Line(row.subject, reverse("messaging:thread", args=[row.thread.pk])) for row in recent]
    return Card(
        "Messages",
        order=20,
        summary=summary,
        lines=tuple(lines),
        action=Line("Go to messages", reverse("messaging:inbox")),
    )
