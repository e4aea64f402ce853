"""Thin views: parse, go through access/actions/selectors, render. No model queries here."""

from __future__ import annotations

import uuid
from typing import cast

from django.http import Http404, HttpRequest, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone

from portal.accounts.models import User
from portal.core.acting import Actor, actor_of
from portal.messaging import actions, selectors
from portal.messaging.attachments import Upload
from portal.messaging.models import Attachment, Draft, Message


def user_of(request: HttpRequest) -> User:
    return cast(User, request.user)


def uploads_of(request: HttpRequest, name: str = "attachments") -> list[Upload]:
    """The files posted, each read only up to one byte past the size limit (enough to refuse it)."""
    from django.conf import settings

    most = settings.PORTAL_ATTACHMENT_MAX_BYTES + 1
    return [Upload(f.name or "attachment", f.read(most)) for f in request.FILES.getlist(name)]


def send_token_of(request: HttpRequest) -> uuid.UUID:
    """The form's one-time token; a form without one was not made by the portal."""
    try:
        return uuid.UUID(str(request.POST.get("send_token", "")))
    except ValueError:
        raise Http404 from None


def draft_saved(request: HttpRequest, draft: Draft, *, draft_url: str, remove_url: str) -> JsonResponse:
    """The autosave answer: the time saved, the files attached now and those refused.

    Files chosen on the page come at once with the text, so a session that
    ends keeps them too; `remove_url` names the view that removes one again.
    """
    by = actor_of(request)
    before = {a.pk for a, _ in selectors.draft_view(by.user, draft).attachments}
    refusals = actions.check_attach_files(by=by, draft_id=draft.pk, uploads=uploads_of(request), saved=draft)
    attached = [
        (a, name) for a, name in selectors.draft_view(by.user, draft).attachments if a.pk not in before
    ]
    return JsonResponse(
        {
            "draft": draft.pk,
            "saved_at": timezone.localtime(draft.updated_at).strftime("%-I:%M %p"),
            "draft_url": draft_url,
            "attached": [_file_answer(a, name, remove_url=remove_url) for a, name in attached],
            "refused": [{"name": r.name, "reason": r.reason} for r in refusals],
        }
    )


def _file_answer(attachment: Attachment, name: str, *, remove_url: str) -> dict[str, str | int]:
    return {
        "id": attachment.pk,
        "name": name,
        "size": filesizeformat(attachment.size),
        "url": reverse("messaging:attachment", args=[attachment.pk]),
        "remove_url": reverse(remove_url, args=[attachment.pk]),
    }


def sent_meanwhile(by: Actor, token: uuid.UUID) -> Message:
    """Inside `except Http404` around attaching and sending: the same form's other Send, in a
    request that ran at the same moment, already sent it (and consumed the draft).

    Returns that message, or re-raises the 404 when nothing was sent.
    """
    earlier = actions.already_sent(by=by, send_token=token)
    if earlier is None:
        raise Http404
    return earlier
