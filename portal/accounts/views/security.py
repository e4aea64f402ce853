from __future__ import annotations

import base64

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts import actions, selectors, sessions
from portal.accounts.forms import ChangePasswordForm, TotpConfirmForm
from portal.accounts.models import User
from portal.accounts.selectors import security_summary
from portal.accounts.views.common import client_address, record_sign_in
from portal.accounts.views.reauth import ask_to_confirm, recent_authentication_required
from portal.accounts.views.steps import next_step_or_home
from portal.core import times
from portal.core.acting import Actor

RECOVERY_CODES = "portal_recovery_codes_to_show"
# Which set of recovery codes this session made (the set's id, never the codes): only this
# session may download them, and only for RECOVERY_CODES_DOWNLOAD_MINUTES.
RECOVERY_CODES_SET = "portal_recovery_codes_made"
SETUP_DEVICE = "portal_authenticator_being_added"
# Set by "This wasn't me": the password change page and its result say what was done.
NOT_ME_AT = "portal_not_me_at"
RECENT_SIGN_INS = 10
DOWNLOAD_NAME = "patient-portal-recovery-codes.txt"


def _acting_user(request: HttpRequest) -> tuple[User, bool] | None:
    """The signed-in user, or the one half-way through a sign-in that owes a set-up."""
    if request.user.is_authenticated:
        return request.user, False  # type: ignore[return-value]
    pending = sessions.pending_user(request, "setup")
    return (pending[0], True) if pending else None


def _text_key(device_key_hex: str) -> str:
    key = base64.b32encode(bytes.fromhex(device_key_hex)).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    acting = _acting_user(request)
    if acting is None:
        messages.warning(request, "Sign in to set up your authenticator app.")
        return redirect("accounts:sign_in")
    user, pending = acting
    if not pending and not sessions.authenticated_recently(request):
        # Adding or replacing the authenticator signs out every other session: a thief
        # with only this session would shut the owner out with their own phone.
        return ask_to_confirm(request)
    device = actions.unconfirmed_totp_device(user, request.session.get(SETUP_DEVICE))
    request.session[SETUP_DEVICE] = device.pk
    form = TotpConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = actions.do_confirm_totp(
            by=Actor(user, client_address(request)), device_id=device.pk, code=form.cleaned_data["code"]
        )
        if codes is None:
            form.add_error(
                "code",
                "That code is not right. Enter the code your app shows now; it changes every 30 seconds.",
            )
        else:
            user.refresh_from_db()
            if pending:
                next_url = (request.session.get(sessions.PENDING) or {}).get("next") or ""
                sessions.start_session(
                    request, user, device=selectors.confirmed_totp_device(user), method="password+totp_setup"
                )
                record_sign_in(request, user, method="password+totp_setup")
                request.session["portal_after_codes"] = next_url
            else:
                sessions.keep_current_session(request, user)
            _show_recovery_codes(request, user, codes)
            return redirect("accounts:recovery_codes")
    qr = segno.make(device.config_url, error="m")
    return render(
        request,
        "accounts/mfa_setup.html",
        {
            "form": form,
            "qr_data_uri": qr.svg_data_uri(scale=5, dark="#1b1b1b"),
            "text_key": _text_key(device.key),
            # The same secret as the QR code: on a phone the app opens straight from the link.
            "otpauth_url": device.config_url,
            "pending": pending,
        },
        status=400 if form.errors else 200,
    )


def _show_recovery_codes(request: HttpRequest, user: User, codes: list[str]) -> None:
    request.session[RECOVERY_CODES] = codes
    request.session[RECOVERY_CODES_SET] = selectors.recovery_codes_device_id(user)


@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = request.session.pop(RECOVERY_CODES, None)
    if not codes:
        return redirect("accounts:security")
    after = request.session.pop("portal_after_codes", "") or ""
    made = selectors.recovery_codes_to_download(request.user, request.session.get(RECOVERY_CODES_SET))  # type: ignore[arg-type]
    return render(
        request,
        "accounts/recovery_codes.html",
        {
            "codes": codes,
            "after": after,
            "made_at": made.made_at if made is not None else timezone.now(),
            "download_minutes": selectors.RECOVERY_CODES_DOWNLOAD_MINUTES,
        },
    )


@login_required
@require_GET
def download_recovery_codes(request: HttpRequest) -> HttpResponse:
    """The codes this session made, as a text file, within minutes of making them.

    The codes travel only in the response body: the address names no code and no set."""
    user: User = request.user  # type: ignore[assignment]
    made = selectors.recovery_codes_to_download(user, request.session.get(RECOVERY_CODES_SET))
    if made is None:
        request.session.pop(RECOVERY_CODES_SET, None)
        response = render(
            request,
            "accounts/recovery_codes_gone.html",
            {"download_minutes": selectors.RECOVERY_CODES_DOWNLOAD_MINUTES},
            status=410,
        )
    else:
        actions.do_record_recovery_codes_download(
            by=Actor(user, client_address(request)), device_id=made.device_id
        )
        text = render_to_string(
            "accounts/recovery_codes.txt",
            {"made": made, "username": user.username, "portal_name": settings.PORTAL_NAME},
        )
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{DOWNLOAD_NAME}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def mfa_offer(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        actions.do_mark_mfa_offered(user=request.user)  # type: ignore[arg-type]
        if request.POST.get("choice") == "setup":
            return redirect("accounts:mfa_setup")
        return redirect(next_step_or_home(request))
    return render(request, "accounts/mfa_offer.html")


@login_required
def security(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    return render(
        request,
        "accounts/security.html",
        {
            "summary": security_summary(user),
            "sign_ins": selectors.sign_ins_of(user, limit=RECENT_SIGN_INS, succeeded_only=True),
            "this_sign_in": sessions.sign_in_event(request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def not_me(request: HttpRequest) -> HttpResponse:
    """ "This wasn't me": sign out every other session, then change the password.

    An account made with a card has no password to change: its card is its way in, and
    the page says whom to call if the card is lost."""
    user: User = request.user  # type: ignore[assignment]
    has_password = user.has_usable_password()
    if request.method == "POST":
        actions.do_end_other_sessions(by=Actor(user, client_address(request)))
        sessions.keep_current_session(request, user)
        signed_out = (
            f"We signed you out of every other place you were signed in ({times.moment(timezone.now())})."
        )
        if not has_password:
            messages.success(
                request,
                f"{signed_out} Your account has no password: only your card signs you in. "
                "If your card is lost or stolen, call the help desk.",
            )
            return redirect("accounts:security")
        request.session[NOT_ME_AT] = timezone.now().isoformat()
        messages.info(request, f"{signed_out} Now choose a new password.")
        return redirect("accounts:change_password")
    return render(request, "accounts/not_me.html", {"has_password": has_password})


@login_required
@require_POST
@recent_authentication_required(back="accounts:security")
def new_recovery_codes(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not selectors.has_second_factor(user):
        return redirect("accounts:security")
    codes = actions.do_regenerate_recovery_codes(by=Actor(user, client_address(request)))
    sessions.keep_current_session(request, user)
    _show_recovery_codes(request, user, codes)
    return redirect("accounts:recovery_codes")


@login_required
@require_POST
@recent_authentication_required(back="accounts:security")
def remove_second_factor(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if selectors.second_factor_required(user):
        messages.error(
            request, "Your account must keep a second sign-in step. To change phones, set up the new one."
        )
        return redirect("accounts:security")
    actions.do_remove_second_factor(by=Actor(user, client_address(request)))
    sessions.keep_current_session(request, user)
    messages.success(request, "The authenticator app is removed. Other sessions were signed out.")
    return redirect("accounts:security")


@login_required
@require_http_methods(["GET", "POST"])
def change_password(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = ChangePasswordForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        actions.do_change_password(
            by=Actor(user, client_address(request)), new_password=form.cleaned_data["password"]
        )
        from django.contrib.auth import update_session_auth_hash

        update_session_auth_hash(request, user)
        sessions.keep_current_session(request, user)
        if request.session.pop(NOT_ME_AT, None):
            messages.success(
                request,
                "Your password is changed, and every other place you were signed in is signed out. "
                "Check your recent sign-ins below. If you see one you do not recognize, call the help desk.",
            )
        else:
            messages.success(request, "Your password is changed. Every other session was signed out.")
        return redirect("accounts:security")
    return render(
        request, "accounts/change_password.html", {"form": form}, status=400 if form.errors else 200
    )
