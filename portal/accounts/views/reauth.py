"""Confirm it's you: the pages that could hand the account to someone else ask again.

`recent_authentication_required` guards a view: when the session's last full sign-in
(password and second step, or the card) is older than PORTAL_REAUTH_MINUTES, it sends
the person to the "Confirm it's you" page, which brings them back where they were. A
POST that was sent back keeps what the person typed (the fields the view names in
`keep`), and the view's form is filled with it on return (`kept_input`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal.accounts import actions, selectors, sessions
from portal.accounts.actions import SignInRefused
from portal.accounts.forms import ConfirmItsYouForm
from portal.accounts.models import User
from portal.accounts.views.common import safe_next
from portal.accounts.views.signin import hold_message
from portal.core.acting import actor_of

KEPT = "portal_reauth_kept"
WRONG = "The password or code is not right. Check them and try again."
LOCKED = (
    "After too many attempts you were signed out, and this account is locked for "
    "{minutes} minutes. If you forgot your password, reset it instead of guessing."
)

View = Callable[..., HttpResponse]


def recent_authentication_required(
    view: View | None = None, *, back: str | None = None, keep: tuple[str, ...] = ()
) -> Any:
    """Run `view` only for a session that proved the person within PORTAL_REAUTH_MINUTES.

    `back` is where a POST returns after confirming (a view that answers GET returns to
    itself); `keep` names the POST fields to give back to the form."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated or sessions.authenticated_recently(request):
                return view(request, *args, **kwargs)
            return ask_to_confirm(request, back=back, keep=keep)

        return guarded

    return decorate(view) if view is not None else decorate


def ask_to_confirm(
    request: HttpRequest, *, back: str | None = None, keep: tuple[str, ...] = ()
) -> HttpResponse:
    """Send the person to "Confirm it's you"; nothing of what they asked for is done."""
    match = request.resolver_match
    actions.do_record_reauthentication_asked(
        by=actor_of(request), page=match.view_name if match else "unknown", method=request.method or "GET"
    )
    if request.method == "POST":
        if keep:
            request.session[KEPT] = {"path": request.path, "data": {k: request.POST.get(k, "") for k in keep}}
        next_url = resolve_url(back) if back else request.get_full_path()
    else:
        next_url = request.get_full_path()
    return redirect(f"{reverse('accounts:confirm_its_you')}?{urlencode({'next': next_url})}")


def kept_input(request: HttpRequest) -> dict[str, str] | None:
    """What the person had typed on this page before being asked to confirm, once."""
    kept = request.session.get(KEPT)
    if not kept or kept.get("path") != request.path:
        return None
    request.session.pop(KEPT, None)
    return dict(kept.get("data") or {})


def sign_out_after_lock(request: HttpRequest, *, sign_in_url: str = "") -> HttpResponse:
    """Too many wrong answers from inside a session: the session ends too.

    Whoever is at this computer has the session but evidently not the password."""
    actions.do_record_sign_out(by=actor_of(request), reason="session_locked")
    sessions.end_session(request)
    messages.error(request, LOCKED.format(minutes=settings.PORTAL_LOCK_MINUTES))
    return redirect(sign_in_url or "accounts:sign_in")


@login_required
@require_http_methods(["GET", "POST"])
def confirm_its_you(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    has_password = user.has_usable_password()
    with_code = selectors.has_second_factor(user)
    form = ConfirmItsYouForm(request.POST or None, with_code=with_code)
    error: str | None = None
    if request.method == "POST" and has_password and form.is_valid():
        try:
            actions.check_reauthentication(
                by=actor_of(request),
                password=form.cleaned_data["password"],
                code=form.cleaned_data.get("code", ""),
            )
        except SignInRefused as refused:
            if refused.reason == SignInRefused.LOCKED:
                return sign_out_after_lock(request)
            error = hold_message(refused.hold) if refused.hold is not None else WRONG
            form = ConfirmItsYouForm(with_code=with_code)  # a code is never shown back
        else:
            sessions.mark_authenticated(request)
            return redirect(next_url)
    return render(
        request,
        "accounts/confirm_its_you.html",
        {
            "form": form,
            "error": error,
            "next": next_url,
            "has_password": has_password,
            "with_code": with_code,
            "minutes": settings.PORTAL_REAUTH_MINUTES,
        },
        status=400 if error or (has_password and form.errors) else 200,
    )
