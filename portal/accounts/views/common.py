from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from portal.accounts import actions, sessions
from portal.accounts.browsers import browser_code
from portal.accounts.models import User
from portal.core.acting import Actor


def client_address(request: HttpRequest) -> str | None:
    return getattr(request, "client_address", None)


def browser_of(request: HttpRequest) -> str:
    """The code of the browser the request came from ("chrome-windows"), for the audit log."""
    return browser_code(str(request.META.get("HTTP_USER_AGENT", "")))


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """Where to go after sign-in: only a path on this site, never another origin."""
    if (
        candidate
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and candidate.startswith("/")
        and not candidate.startswith("//")
    ):
        return candidate
    return resolve_url("home:home")


def record_sign_in(request: HttpRequest, user: User, *, method: str) -> None:
    """Audit the sign-in that `sessions.start_session` just began, with the browser's code, and
    let the session know its own sign-in (Account security marks it "This session")."""
    event_id = actions.do_record_sign_in(
        by=Actor(user, client_address(request)), method=method, browser=browser_of(request)
    )
    sessions.remember_sign_in(request, event_id)
