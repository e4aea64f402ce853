"""The new address's confirmation link (signed in as the same account only) and the old
address's link that cancels the change."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from portal.accounts import actions, sessions
from portal.accounts.links import LinkInvalid
from portal.accounts.models import EmailLink
from portal.accounts.views.common import client_address
from portal.core.acting import Refused, actor_of

LINK_PROBLEMS = {
    LinkInvalid.EXPIRED: "This link has expired. Links work for a limited time for your security.",
    LinkInvalid.USED: "This link was already used. Each link works once.",
    LinkInvalid.UNKNOWN: "This link is not valid. Check that you opened the whole link from the e-mail.",
}


def _problem(request: HttpRequest, text: str, *, status: int) -> HttpResponse:
    return render(request, "accounts/link_problem.html", {"problem": text}, status=status)


def confirm_email_change(request: HttpRequest, token: str, link: EmailLink) -> HttpResponse:
    """GET shows a button; only the POST uses the link (mail scanners follow GET links)."""
    if not request.user.is_authenticated:
        messages.info(
            request,
            "Sign in to confirm your new e-mail address. We confirm a new address only "
            "for the account that asked for it.",
        )
        return redirect_to_login(request.path)
    try:
        actions.check_email_change_link(by=actor_of(request), token=token)
    except Refused as refused:
        return _problem(request, refused.message, status=403)
    if request.method == "POST":
        try:
            actions.do_confirm_email_change(by=actor_of(request), token=token)
        except LinkInvalid as invalid:
            return _problem(request, LINK_PROBLEMS[invalid.reason], status=410)
        except Refused as refused:
            return _problem(request, refused.message, status=403)
        messages.success(
            request,
            "Your new e-mail address is confirmed. We told your previous address, "
            "with a way to cancel the change if it was not you.",
        )
        return redirect("accounts:contact")
    return render(request, "accounts/confirm_email.html", {"email": link.email, "purpose": link.purpose})


@require_http_methods(["GET", "POST"])
def cancel_email_change(request: HttpRequest, token: str) -> HttpResponse:
    """From the old address: works signed out. GET explains; the POST cancels."""
    try:
        link = actions.check_cancel_link(token)
    except LinkInvalid as invalid:
        return _problem(request, LINK_PROBLEMS[invalid.reason], status=410)
    if request.method == "POST":
        try:
            user = actions.do_cancel_email_change(token=token, client_address=client_address(request))
        except LinkInvalid as invalid:
            return _problem(request, LINK_PROBLEMS[invalid.reason], status=410)
        if request.user.is_authenticated and request.user.pk == user.pk:
            sessions.end_session(request)
        return render(request, "accounts/cancel_email_change.html", {"done": True, "email": link.email})
    return render(request, "accounts/cancel_email_change.html", {"done": False, "email": link.email})
