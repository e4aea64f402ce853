"""Thin views: parse, go through access/actions/selectors, render. No model queries here."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.http import Http404, HttpRequest, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from portal.accounts.models import User
from portal.core import times
from portal.core.acting import Actor, Refused, actor_of
from portal.messaging import actions, selectors
from portal.messaging.attachments import Refusal, Upload
from portal.messaging.models import Attachment, Draft, Message
from portal.vault.files import FileStoreUnavailable

# Said when the file store (a full disk, a read-only mount, an unreachable bucket) refused a file.
FILE_NOT_SAVED = (
    "Your file could not be saved just now. Your message is saved; "
    "try attaching the file again in a few minutes."
)


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
    saved = {
        "draft": draft.pk,
        "saved_at": times.clock(draft.updated_at),
        "draft_url": draft_url,
    }
    uploads = uploads_of(request)
    before = {a.pk for a, _ in selectors.draft_view(by.user, draft).attachments} if uploads else set()
    try:
        refusals = actions.check_attach_files(by=by, draft_id=draft.pk, uploads=uploads, saved=draft)
    except FileStoreUnavailable:
        # The text is saved; the files are not (the page keeps them chosen, to try again).
        return JsonResponse({**saved, "error": FILE_NOT_SAVED, "attached": [], "refused": []}, status=503)
    attached = (
        [(a, name) for a, name in selectors.draft_view(by.user, draft).attachments if a.pk not in before]
        if uploads
        else []
    )
    return JsonResponse(
        {
            **saved,
            "attached": [_file_answer(a, name, remove_url=remove_url) for a, name in attached],
            "refused": [{"name": r.name, "reason": r.reason} for r in refusals],
        }
    )


def not_saved(refused: Refused) -> JsonResponse:
    """The autosave answer when the draft itself was refused (too long, too many drafts):
    the page shows the message and keeps what was typed."""
    return JsonResponse({"error": refused.message, "field": refused.field}, status=400)


def add_refusal(form: Any, refused: Refused) -> None:
    """Put an action's refusal on the form (validated first), unless its field already says so."""
    form.is_valid()
    field = refused.field if refused.field in form.fields else None
    if field is None or not form.has_error(field):
        form.add_error(field, refused.message)


def attach_files(by: Actor, request: HttpRequest, draft: Draft) -> tuple[list[Refusal], str]:
    """Attach the posted files to the draft saved in this request (Send or Save draft).

    Returns the refused files and, when the file store would not take them, what to tell
    the person (the draft's text is saved; no file of this request is)."""
    try:
        return actions.check_attach_files(
            by=by, draft_id=draft.pk, uploads=uploads_of(request), saved=draft
        ), ""
    except FileStoreUnavailable:
        return [], FILE_NOT_SAVED


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
