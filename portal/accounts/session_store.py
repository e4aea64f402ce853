"""Sessions in the database, as Django keeps them, saved in one statement.

Every signed-in request saves its session (the time of its last activity moves on). Django's
database store wraps that save in a transaction (BEGIN, UPDATE, COMMIT: three round trips);
an existing session's save is one UPDATE, atomic by itself, so here it is sent alone. A new
session, and one whose row is gone (it ended meanwhile), are saved as Django saves them.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import UpdateError


class SessionStore(db.SessionStore):
    def save(self, must_create: bool = False) -> None:
        if must_create or self.session_key is None:
            super().save(must_create=must_create)
            return
        data = self._get_session()  # type: ignore[attr-defined]  # Django's own, as its save reads it
        updated = self.model.objects.filter(session_key=self.session_key).update(
            session_data=self.encode(data), expire_date=self.get_expiry_date()
        )
        if not updated:
            raise UpdateError  # the session was ended meanwhile: Django tells the browser so
