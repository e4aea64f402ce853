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
    files = request.FILES.getlist(name)
    return [Upload(f.name or "attachment", f.read()) for f in files]
