from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from portal.clinics.selectors import teams_of_staff
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
