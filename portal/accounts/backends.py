"""The sign-in backend: Django's, with the person's record loaded with the user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from portal.accounts.models import User

PATH = "portal.accounts.backends.PortalBackend"


class PortalBackend(ModelBackend):
    """Every signed-in request reads its user with the patient or staff record in one query.

    Sessions started before it name Django's ModelBackend, which stays listed after it so
    they go on; a sign-in it refuses stops there (PermissionDenied), so a wrong password is
    hashed once, not once per listed backend."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            raise PermissionDenied
        return user  # type: ignore[return-value]

    def get_user(self, user_id: Any) -> User | None:
        user = User._default_manager.select_related("patient", "staff_member").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
