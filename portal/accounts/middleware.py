"""Session rules that hold on every request: timeouts, revocation, first sign-in steps."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from portal.accounts import sessions
from portal.accounts.actions import do_record_sign_out
from portal.accounts.models import User
from portal.accounts.selectors import STEP_URLS, pending_first_steps
from portal.audit import log as audit
from portal.core.acting import Actor

# Polled by the timeout warning: it reports the time left and must not extend it.
STATUS_PATH = "/account/session/status"
REVOKED = "You were signed out because your password or sign-in method changed."


class SessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Read before request.user is evaluated: when the password changed since sign-in,
        # Django flushes the session silently; knowing who it was lets us say why and audit it.
        signed_in_as = request.session.get(SESSION_KEY)
        user = request.user
        if user.is_authenticated:
            ended = self._ended(request)
            if ended is not None:
                return self._sign_out(request, user, *ended)  # type: ignore[arg-type]
            if request.path != STATUS_PATH:
                request.session[sessions.LAST_ACTIVITY] = int(time.time())
        elif signed_in_as is not None:
            previous = User.objects.filter(pk=signed_in_as).first()
            if previous is not None:
                return self._sign_out(request, previous, "session_revoked", REVOKED)
        return self.get_response(request)

    def _ended(self, request: HttpRequest) -> tuple[str, str] | None:
        user = request.user
        session = request.session
        now = int(time.time())
        if session.get(sessions.GENERATION) != user.session_generation:  # type: ignore[union-attr]
            return "session_revoked", REVOKED
        signed_in_at = int(session.get(sessions.SIGNED_IN_AT, 0))
        last = int(session.get(sessions.LAST_ACTIVITY, 0))
        idle = sessions.idle_timeout(user)  # type: ignore[arg-type]
        if now - signed_in_at > settings.PORTAL_ABSOLUTE_TIMEOUT_SECONDS:
            hours = settings.PORTAL_ABSOLUTE_TIMEOUT_SECONDS // 3600
            return (
                "session_expired",
                f"For your security you were signed out after {hours} hours. Sign in again.",
            )
        if now - last > idle:
            return "session_timeout", (
                f"You were signed out after {idle // 60} minutes without activity. "
                "Sign in again to go back to where you were."
            )
        return None

    def _sign_out(self, request: HttpRequest, user: User, reason: str, text: str) -> HttpResponse:
        do_record_sign_out(by=Actor(user, getattr(request, "client_address", None)), reason=reason)
        sessions.end_session(request)
        response: HttpResponse
        if request.path == STATUS_PATH:
            # The timeout warning script reads this and then opens the sign-in page,
            # which shows the notice below.
            response = JsonResponse({"signed_in": False, "seconds_left": 0})
        else:
            next_url = request.get_full_path() if request.method == "GET" else _safe_referer_path(request)
            response = redirect_to_login(next_url)
        # This middleware runs before MessageMiddleware has attached a store to the
        # request, so the notice is written to the response through its own store.
        storage = default_storage(request)
        storage.add(messages.WARNING, text)
        storage.update(response)
        return response


def _safe_referer_path(request: HttpRequest) -> str:
    from urllib.parse import urlsplit

    from django.utils.http import url_has_allowed_host_and_scheme

    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        parts = urlsplit(referer)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return reverse("home:home")


class AuditLoginMethodMiddleware:
    """Every audit event a signed-in session writes says how that session was signed in.

    Placed after SessionPolicyMiddleware, so a session it ended (and its sign-out event,
    written with the method still set by nobody) is not counted as signed in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        method = sessions.sign_in_method(request) if request.user.is_authenticated else None
        with audit.login_method(method):
            return self.get_response(request)


class FirstSignInStepsMiddleware:
    """Until a patient has done the first sign-in steps, every page leads back to them."""

    ALWAYS_OPEN = ("/account/", "/help/", "/static/", "/healthz")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.session.get(sessions.FIRST_STEPS_DONE):
            steps = pending_first_steps(user)  # type: ignore[arg-type]
            if not steps:
                request.session[sessions.FIRST_STEPS_DONE] = True
            elif not request.path.startswith(self.ALWAYS_OPEN):
                return redirect(STEP_URLS[steps[0]])
        return self.get_response(request)
