from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from portal.accounts import actions, selectors, sessions
from portal.accounts.forms import ContactForm
from portal.accounts.models import User
from portal.accounts.selectors import STEP_URLS, pending_first_steps
from portal.accounts.views.common import client_address
from portal.accounts.views.reauth import ask_to_confirm, kept_input
from portal.core.acting import Actor


def next_step_or_home(request: HttpRequest) -> str:
    steps = pending_first_steps(request.user)  # type: ignore[arg-type]
    if steps:
        return resolve_url(STEP_URLS[steps[0]])
    request.session[sessions.FIRST_STEPS_DONE] = True
    return resolve_url("home:home")


@login_required
@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    patient = user.patient_record
    if patient is None:
        return redirect("home:home")
    editing = request.GET.get("edit") == "1" or request.POST.get("action") == "save"
    if editing and not sessions.authenticated_recently(request):
        # Changing where the portal reaches the person (and where a reset link goes)
        # needs the password again; what was typed comes back after.
        return ask_to_confirm(
            request, back=reverse("accounts:contact") + "?edit=1", keep=("email", "mobile_phone")
        )
    initial = {"email": selectors.pending_email(user) or patient.email, "mobile_phone": patient.mobile_phone}
    kept = kept_input(request) if request.method == "GET" else None
    if kept:
        initial = kept
    form = ContactForm(request.POST if request.POST.get("action") == "save" else None, initial=initial)
    if request.method == "POST" and request.POST.get("action") == "confirm":
        actions.do_verify_contact(by=Actor(user, client_address(request)))
        messages.success(request, "Thank you: your contact information is confirmed.")
        return redirect(next_step_or_home(request))
    if request.method == "POST" and form.is_valid():
        change = actions.do_update_contact(
            by=Actor(user, client_address(request)),
            email=form.cleaned_data["email"],
            mobile_phone=form.cleaned_data["mobile_phone"],
        )
        actions.do_verify_contact(by=Actor(user, client_address(request)))
        if change.email_pending:
            messages.info(
                request,
                f"We sent a confirmation link to {form.cleaned_data['email']}. Until you follow it, "
                f"we keep using {patient.email or 'your current address'}.",
            )
        else:
            messages.success(request, "Your contact information is saved.")
        return redirect(next_step_or_home(request))
    return render(
        request,
        "accounts/contact.html",
        {
            "patient": patient,
            "form": form,
            "editing": editing,
            "pending_email": selectors.pending_email(user),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def terms(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    current = selectors.current_terms()
    if current is None:
        return redirect(next_step_or_home(request))
    error = None
    if request.method == "POST":
        if request.POST.get("decision") == "decline":
            actions.do_record_sign_out(by=Actor(user, client_address(request)), reason="sign_out")
            sessions.end_session(request)
            messages.info(
                request, "You need to accept the conditions of use to use the portal. You are signed out."
            )
            return redirect("accounts:sign_in")
        if request.POST.get("version") != str(current.pk):
            error = "The conditions of use changed while you were reading. Read the current version below."
        elif request.POST.get("accept") != "yes":
            error = "Check the box to say you accept the conditions of use, then choose Continue."
        else:
            actions.do_accept_terms(by=Actor(user, client_address(request)), terms=current)
            return redirect(next_step_or_home(request))
    return render(
        request, "accounts/terms.html", {"terms": current, "error": error}, status=400 if error else 200
    )
