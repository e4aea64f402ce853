from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from portal.clinics.selectors import teams_of_staff


@login_required
def landing(request: HttpRequest) -> HttpResponse:
    """The staff console's first page: the teams this person works for."""
    staff = request.user.staff_record  # type: ignore[union-attr]
    if staff is None:
        raise Http404
    return render(request, "clinics/landing.html", {"staff": staff, "teams": teams_of_staff(request.user)})  # type: ignore[arg-type]
