from __future__ import annotations

import time

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.accounts import actions, selectors, throttle
from portal.accounts.actions import RegistrationNoMatch
from portal.accounts.consent import consent_required
from portal.accounts.forms import NewAccountForm, RegisterIdentityForm
from portal.accounts.links import LinkInvalid
from portal.accounts.models import EmailLink
from portal.accounts.views.common import client_address
from portal.accounts.views.email_change import LINK_PROBLEMS, confirm_email_change
from portal.core.acting import Actor

NO_MATCH = (
    "We could not match those details to a patient record. Check your DoD ID number, date of "
    "birth and last name against your ID card and try again. If you already have an account, "
    "sign in or reset your password instead."
)
REGISTRATION_PATIENT = "portal_registration_patient"
REGISTRATION_STEP_SECONDS = 15 * 60


@require_http_methods(["GET", "POST"])
@consent_required()
def register(request: HttpRequest) -> HttpResponse:
    form = RegisterIdentityForm(request.POST or None)
    error: str | None = None
    if request.method == "POST" and form.is_valid():
        hold = throttle.registration_hold(client_address(request), form.cleaned_data["dod_id"])
        if hold is not None:
            error = "Too many attempts to match a record. Wait a few minutes, then try again, or call the help desk."
        else:
            try:
                patient = actions.check_registration_identity(
                    dod_id=form.cleaned_data["dod_id"],
                    birth_date=form.cleaned_data["birth_date"],
                    last_name=form.cleaned_data["last_name"],
                    client_address=client_address(request),
                )
            except RegistrationNoMatch:
                throttle.register_registration_failure(client_address(request), form.cleaned_data["dod_id"])
                error = NO_MATCH
            else:
                request.session[REGISTRATION_PATIENT] = {"patient_id": patient.pk, "at": int(time.time())}
                return redirect("accounts:register_account")
    return render(
        request,
        "accounts/register_identity.html",
        {"form": form, "error": error},
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
@consent_required()
def register_account(request: HttpRequest) -> HttpResponse:
    matched = request.session.get(REGISTRATION_PATIENT) or {}
    fresh = int(time.time()) - int(matched.get("at", 0)) <= REGISTRATION_STEP_SECONDS
    patient_id = matched.get("patient_id")
    patient = selectors.patient_being_registered(patient_id) if fresh and patient_id else None
    if patient is None:
        # A match is good for a few minutes only: on a shared computer the next
        # person must not find someone else's record waiting.
        request.session.pop(REGISTRATION_PATIENT, None)
        messages.info(request, "First tell us who you are, so we can find your record.")
        return redirect("accounts:register")
    form = NewAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        problems = actions.check_new_account(
            patient=patient, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        for field, field_problems in problems.items():
            for problem in field_problems:
                form.add_error(field, problem)
        if not problems:
            try:
                actions.do_create_patient_account(
                    patient_id=patient.pk,
                    username=form.cleaned_data["username"],
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"],
                    client_address=client_address(request),
                )
            except RegistrationNoMatch:
                request.session.pop(REGISTRATION_PATIENT, None)
                messages.error(request, NO_MATCH)
                return redirect("accounts:register")
            request.session.pop(REGISTRATION_PATIENT, None)
            request.session["portal_registered_email"] = form.cleaned_data["email"]
            return redirect("accounts:register_done")
    return render(
        request,
        "accounts/register_account.html",
        {"form": form, "first_name": patient.first_name},
        status=400 if form.errors else 200,
    )


def register_done(request: HttpRequest) -> HttpResponse:
    return render(
        request, "accounts/register_done.html", {"email": request.session.get("portal_registered_email")}
    )


@require_POST
def resend_confirmation(request: HttpRequest) -> HttpResponse:
    user = selectors.unconfirmed_account(request.session.get("portal_unconfirmed_user"))
    if user is not None:
        actions.do_resend_registration_link(by=Actor(user, client_address(request)))
    messages.success(request, "We sent a new confirmation link. It works once, for 24 hours.")
    return redirect("accounts:sign_in")


@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; only the POST uses the link (mail scanners follow GET links)."""
    try:
        link = selectors.peek_email_link(token)
    except LinkInvalid as invalid:
        return render(
            request, "accounts/link_problem.html", {"problem": LINK_PROBLEMS[invalid.reason]}, status=410
        )
    if link.purpose == EmailLink.Purpose.EMAIL_CHANGE:
        return confirm_email_change(request, token, link)
    if request.method == "POST":
        try:
            actions.do_confirm_email(token=token, client_address=client_address(request))
        except LinkInvalid as invalid:
            return render(
                request, "accounts/link_problem.html", {"problem": LINK_PROBLEMS[invalid.reason]}, status=410
            )
        messages.success(request, "Your e-mail address is confirmed. Sign in to continue.")
        return redirect("accounts:sign_in")
    return render(request, "accounts/confirm_email.html", {"email": link.email, "purpose": link.purpose})
