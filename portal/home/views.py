from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from portal.accounts.models import User
from portal.accounts.selectors import security_summary
from portal.clinics.selectors import teams_patient_may_message
from portal.core.admin import may_use_console
from portal.core.cards import home_cards


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if may_use_console(request.user):
        return redirect("operator:index")  # administrators' work is the operator console
    if request.user.is_staff_member:  # type: ignore[union-attr]
        return redirect("clinics:landing")
    user: User = request.user  # type: ignore[assignment]
    # Each domain's card (portal.core.cards), those with something waiting first.
    cards = home_cards(request)
    context = {
        "patient": user.patient_record,
        "cards": cards,
        "attention": any(card.needs_attention for card in cards),
        "teams": teams_patient_may_message(user),
        "security": security_summary(user),
    }
    return render(request, "home/home.html", context)
