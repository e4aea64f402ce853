from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts import actions, consent, selectors, sessions
from portal.accounts.actions import SignInRefused
from portal.accounts.consent import consent_required
from portal.accounts.forms import SecondFactorForm, SignInForm
from portal.accounts.models import User
from portal.accounts.throttle import Hold
from portal.accounts.views.common import client_address, record_sign_in, safe_next
from portal.core import times
from portal.core.acting import Actor
from portal.core.promises import promises

WRONG_CREDENTIALS = "The username or password is not right. Check them and try again."


def hold_message(hold: Hold) -> str:
    if hold.locked:
        minutes = max(1, round(hold.seconds_left / 60))
        who = "sign-ins from your network are" if hold.by_address else "this account is"
        return (
            f"After too many failed attempts, {who} locked until {times.moment(hold.until)} "
            f"(about {minutes} minute{'s' if minutes != 1 else ''} from now). "
            "If you forgot your password, reset it instead of guessing."
        )
    seconds = hold.seconds_left
    return f"Too many failed attempts. Wait {seconds} second{'s' if seconds != 1 else ''}, then try again."


@require_http_methods(["GET", "POST"])
@consent_required()
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        return redirect(next_url)
    form = SignInForm(request.POST or None)
    error: str | None = None
    unconfirmed = False
    if request.method == "POST" and form.is_valid():
        try:
            user = actions.check_sign_in(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                client_address=client_address(request),
            )
        except SignInRefused as refused:
            if refused.reason == SignInRefused.HELD and refused.hold is not None:
                error = hold_message(refused.hold)
            elif refused.reason == SignInRefused.UNCONFIRMED and refused.user is not None:
                request.session["portal_unconfirmed_user"] = refused.user.pk
                error = "Confirm your e-mail address first: follow the link we sent you."
                unconfirmed = True
            else:
                error = WRONG_CREDENTIALS
        else:
            return _after_password(request, user, next_url)
    status = 200 if error is None else 400
    return render(
        request,
        "accounts/sign_in.html",
        {
            "form": form,
            "error": error,
            "next": next_url,
            "unconfirmed": unconfirmed,
            "card_consent": consent.card_token(),
            "promises": promises(),
        },
        status=status,
    )


def _after_password(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    if selectors.has_second_factor(user):
        sessions.set_pending(request, user, next_url=next_url, step="verify")
        return redirect("accounts:second_factor")
    if selectors.second_factor_required(user):
        sessions.set_pending(request, user, next_url=next_url, step="setup")
        messages.info(
            request, "Your account needs a second sign-in step. Set up an authenticator app to continue."
        )
        return redirect("accounts:mfa_setup")
    sessions.start_session(request, user, method="password")
    record_sign_in(request, user, method="password")
    return redirect(next_url)


@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    pending = sessions.pending_user(request, "verify")
    if pending is None:
        messages.warning(request, "Your sign-in took too long to finish. Sign in again.")
        return redirect("accounts:sign_in")
    user, next_url = pending
    form = SecondFactorForm(request.POST or None)
    error: str | None = None
    if request.method == "POST" and form.is_valid():
        try:
            device, codes_left = actions.check_second_factor(
                by=Actor(user, client_address(request)), code=form.cleaned_data["code"]
            )
        except SignInRefused as refused:
            error = (
                hold_message(refused.hold)
                if refused.hold is not None
                else "That code is not right. Codes change every 30 seconds: enter the one your app shows now."
            )
        else:
            method = "password+recovery_code" if codes_left is not None else "password+totp"
            sessions.start_session(request, user, device=device, method=method)
            record_sign_in(request, user, method=method)
            if codes_left is not None:
                messages.warning(
                    request,
                    f"You used a recovery code. {codes_left} remain. You can make new ones under Account security.",
                )
            return redirect(next_url or "home:home")
    return render(
        request,
        "accounts/second_factor.html",
        {"form": form, "error": error},
        status=200 if error is None else 400,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        actions.do_record_sign_out(
            by=Actor(request.user, client_address(request)),  # type: ignore[arg-type]
            reason="sign_out",
        )
    sessions.end_session(request)
    messages.success(request, "You are signed out.")
    return redirect("accounts:sign_in")


@require_GET
def session_status(request: HttpRequest) -> JsonResponse:
    """Seconds left before the idle timeout; reading this does not extend the session."""
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False, "seconds_left": 0})
    idle = sessions.idle_timeout(request.user)  # type: ignore[arg-type]
    last = int(request.session.get(sessions.LAST_ACTIVITY, 0))
    seconds_left = max(0, idle - (int(time.time()) - last))
    return JsonResponse({"signed_in": True, "seconds_left": seconds_left})


@require_POST
@login_required
def keep_alive(request: HttpRequest) -> JsonResponse:
    # The middleware has already recorded this request as activity.
    return JsonResponse({"signed_in": True, "seconds_left": sessions.idle_timeout(request.user)})  # type: ignore[arg-type]
