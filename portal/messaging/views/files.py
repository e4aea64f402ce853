"""Downloads: an attachment, or a whole thread as plain text. Both go through the access doors."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from portal.core.acting import actor_of
from portal.messaging import actions, selectors
from portal.messaging.access import access_attachment, access_thread
from portal.messaging.views.common import user_of


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback and the real name in RFC 5987 encoding; never inline."""
    fallback = (
        "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;%' else "_" for ch in filename) or "download"
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@login_required
@require_GET
def download_attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    user = user_of(request)
    attachment = access_attachment(user, attachment_id)
    name, content = selectors.attachment_content(attachment)
    actions.do_record_download(by=actor_of(request), attachment=attachment)
    response = HttpResponse(content, content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition(name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
@require_GET
def download_thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    user = user_of(request)
    thread = access_thread(user, thread_id)
    view = selectors.thread_view(user, thread)
    actions.do_record_thread_export(by=actor_of(request), thread=thread)
    # Like every printout, the file names the patient twice (name, date of birth) and when it was made.
    context = {
        "view": view,
        "staff_side": user.is_staff_member,
        "patient": thread.patient,
        "made_at": timezone.now(),
    }
    text = render_to_string("messaging/thread.txt", context)
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition(f"conversation-{thread.pk}.txt")
    response["X-Content-Type-Options"] = "nosniff"
    return response
