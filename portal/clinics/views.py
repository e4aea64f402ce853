from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from portal.clinics.access import staff_of
from portal.clinics.forms import PatientSearchForm
from portal.clinics.selectors import SEARCH_LIMIT, find_patients, teams_of_staff
from portal.clinics.work_queue import team_cards, work_of
from portal.core.acting import actor_of


@login_required
def landing(request: HttpRequest) -> HttpResponse:
    """The staff console's first page, the work queue: per team they are on, what waits in
    each domain (`portal.clinics.work_queue`), what is theirs, and what colleagues handed them."""
    staff = request.user.staff_record  # type: ignore[union-attr]
    if staff is None:
        raise Http404
    teams = list(teams_of_staff(request.user))  # type: ignore[arg-type]
    works = work_of(actor_of(request), teams)
    context = {"staff": staff, "teams": teams, "works": works, "cards": team_cards(works, teams)}
    return render(request, "clinics/landing.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def patient_search(request: HttpRequest) -> HttpResponse:
    """Find a patient of one's care teams. What is typed names a person: it comes in the request
    body, never in the address, which access logs, proxies and the browser's history keep; a
    `?q=` in the address is ignored."""
    by = actor_of(request)
    staff = staff_of(by.user)
    form = PatientSearchForm(request.POST if request.method == "POST" else None)
    found = None
    if form.is_valid():
        found = find_patients(by, form.cleaned_data["terms"])
    context = {"staff": staff, "form": form, "found": found, "limit": SEARCH_LIMIT}
    return render(request, "clinics/patient_search.html", context, status=400 if form.errors else 200)
