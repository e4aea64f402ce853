from __future__ import annotations

from typing import cast

from django.http import HttpRequest

from portal.accounts.models import User
from portal.messaging.actions import Where
from portal.messaging.attachments import Upload


def user_of(request: HttpRequest) -> User:
    return cast(User, request.user)


def where(request: HttpRequest) -> Where:
    return Where(user_of(request), getattr(request, "client_address", None))


def uploads_of(request: HttpRequest, name: str = "attachments") -> list[Upload]:
    """The files posted, each read only up to one byte past the size limit (enough to refuse it)."""
    from django.conf import settings

    most = settings.PORTAL_ATTACHMENT_MAX_BYTES + 1
    return [Upload(f.name or "attachment", f.read(most)) for f in request.FILES.getlist(name)]
