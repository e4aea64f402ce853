"""Break-glass for staff, and its review for privacy officers. Thin: parse, act, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from portal.accounts.models import User
from portal.clinics.access import staff_of
from portal.core import times
from portal.core.acting import Refused, actor_of
from portal.privacy import actions, selectors
from portal.privacy.forms import BreakGlassForm


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 - login_required ran first
    return user


@login_required
@require_http_methods(["GET", "POST"])
def break_glass(request: HttpRequest) -> HttpResponse:
    staff = staff_of(_user(request))
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            data = form.cleaned_data
            opened = actions.check_break_glass(
                by=actor_of(request),
                dod_id=data["dod_id"],
                birth_date=data["birth_date"],
                reason=data["reason"],
                explanation=data["explanation"],
            )
        except Refused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            if opened.grant is None:
                messages.info(request, "This patient is on one of your care teams: no reason was needed.")
            else:
                until = times.moment(opened.grant.expires_at)
                messages.warning(
                    request,
                    f"You may open this patient's record until {until}. Every page you open is recorded.",
                )
            return redirect("messaging_staff:patient", opened.patient.pk)
    context = {
        "form": form,
        "allowed": actions.may_break_glass(staff),
        "minutes": settings.PORTAL_BREAK_GLASS_MINUTES,
    }
    return render(request, "privacy/break_glass.html", context, status=400 if form.errors else 200)


@login_required
def review(request: HttpRequest) -> HttpResponse:
    uses = selectors.break_glass_uses(_user(request))
    actions.do_record_break_glass_review(by=actor_of(request), grant_ids=[use.grant.pk for use in uses])
    return render(request, "privacy/review.html", {"uses": uses, "now": timezone.now()})
