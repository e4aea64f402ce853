"""Starting, keeping and ending a signed-in session."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest
from django_otp import login as otp_login

from portal.accounts import backends
from portal.accounts.models import User
from portal.audit import log as audit

SIGNED_IN_AT = "portal_signed_in_at"
LAST_ACTIVITY = "portal_last_activity"
GENERATION = "portal_generation"
FIRST_STEPS_DONE = "portal_first_steps_done"
PENDING = "portal_pending_sign_in"
# When this session last proved the person: password and second step (or the password
# alone where there is none), or the card. "Confirm it's you" sets it again.
AUTHENTICATED_AT = "portal_authenticated_at"
# How this session was signed in ("password", "password+totp", "smart_card", ...): a fixed
# code every audit event of the session carries (AuditLoginMethodMiddleware).
SIGN_IN_METHOD = "portal_sign_in_method"
# The id of the `sign_in` audit event that started this session: Account security marks it
# "This session" in the list of recent sign-ins.
SIGN_IN_EVENT = "portal_sign_in_event"
PENDING_LIFETIME_SECONDS = 5 * 60


def idle_timeout(user: User) -> int:
    if user.is_administrator:
        return int(settings.PORTAL_ADMIN_IDLE_TIMEOUT_SECONDS)
    return int(settings.PORTAL_IDLE_TIMEOUT_SECONDS)


def start_session(request: HttpRequest, user: User, *, method: str, device: Any = None) -> None:
    """Sign in: Django's login() gives the session a new key (no fixation).

    `method` is the sign-in method's code; the sign-in's own audit event and every
    later one of this session carry it."""
    request.session.pop(PENDING, None)
    login(request, user, backend=backends.PATH)
    if device is not None:
        otp_login(request, device)
    now = int(time.time())
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_ACTIVITY] = now
    request.session[AUTHENTICATED_AT] = now
    request.session[GENERATION] = user.session_generation
    request.session[SIGN_IN_METHOD] = method
    audit.set_login_method(method)


def sign_in_method(request: HttpRequest) -> str | None:
    method = request.session.get(SIGN_IN_METHOD)
    return method if isinstance(method, str) and method else None


def remember_sign_in(request: HttpRequest, event_id: int) -> None:
    request.session[SIGN_IN_EVENT] = event_id


def sign_in_event(request: HttpRequest) -> int | None:
    event_id = request.session.get(SIGN_IN_EVENT)
    return event_id if isinstance(event_id, int) else None


def authenticated_recently(request: HttpRequest) -> bool:
    """Did this session prove the person within PORTAL_REAUTH_MINUTES?

    A session with no time recorded (started before this rule) is not recent."""
    at = request.session.get(AUTHENTICATED_AT)
    if not isinstance(at, int):
        return False
    return int(time.time()) - at <= settings.PORTAL_REAUTH_MINUTES * 60


def mark_authenticated(request: HttpRequest) -> None:
    """The person proved themself again in this session ("Confirm it's you")."""
    request.session[AUTHENTICATED_AT] = int(time.time())


def end_session(request: HttpRequest) -> None:
    logout(request)


def keep_current_session(request: HttpRequest, user: User) -> None:
    """After the user raised their generation, this session stays and the others end."""
    request.session[GENERATION] = user.session_generation
    request.session.cycle_key()


def set_pending(request: HttpRequest, user: User, *, next_url: str, step: str) -> None:
    """Password was right; a second factor (verify or set up) is still owed."""
    request.session.cycle_key()
    request.session[PENDING] = {
        "user_id": user.pk,
        "generation": user.session_generation,
        "at": int(time.time()),
        "next": next_url,
        "step": step,
    }


def pending_user(request: HttpRequest, step: str) -> tuple[User, str] | None:
    pending = request.session.get(PENDING)
    if not pending or pending.get("step") != step:
        return None
    if int(time.time()) - int(pending["at"]) > PENDING_LIFETIME_SECONDS:
        request.session.pop(PENDING, None)
        return None
    user = User.objects.filter(pk=pending["user_id"], is_active=True).first()
    if user is None or user.session_generation != pending["generation"]:
        request.session.pop(PENDING, None)
        return None
    return user, str(pending.get("next") or "")
