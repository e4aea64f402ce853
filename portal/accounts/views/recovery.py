from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from portal.accounts import actions, selectors
from portal.accounts.forms import PasswordResetRequestForm, SetPasswordForm
from portal.accounts.links import LinkInvalid
from portal.accounts.views.common import client_address
from portal.accounts.views.registration import LINK_PROBLEMS


@require_http_methods(["GET", "POST"])
def password_reset_request(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.do_request_password_reset(
            username=form.cleaned_data["username"], client_address=client_address(request)
        )
        return render(
            request, "accounts/password_reset_sent.html", {"minutes": settings.PORTAL_RESET_LINK_MINUTES}
        )
    return render(request, "accounts/password_reset_request.html", {"form": form})


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = actions.check_reset_link(token)
    except LinkInvalid as invalid:
        return render(
            request,
            "accounts/link_problem.html",
            {"problem": LINK_PROBLEMS[invalid.reason], "offer_reset": True},
            status=410,
        )
    form = SetPasswordForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_reset_password(
                token=token,
                new_password=form.cleaned_data["password"],
                client_address=client_address(request),
            )
        except LinkInvalid as invalid:
            return render(
                request,
                "accounts/link_problem.html",
                {"problem": LINK_PROBLEMS[invalid.reason], "offer_reset": True},
                status=410,
            )
        messages.success(
            request,
            "Your password is changed and every other session is signed out. Sign in with your new password"
            + (" and your authenticator app." if selectors.has_second_factor(user) else "."),
        )
        return redirect("accounts:sign_in")
    return render(request, "accounts/password_reset.html", {"form": form}, status=400 if form.errors else 200)
