from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from portal.accounts.models import User
from portal.accounts.selectors import security_summary
from portal.clinics.selectors import teams_patient_may_message
from portal.core.faq import QUESTIONS


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_staff_member:  # type: ignore[union-attr]
        return redirect("clinics:landing")
    user: User = request.user  # type: ignore[assignment]
    context = {
        "patient": user.patient_record,
        "teams": teams_patient_may_message(user),
        "security": security_summary(user),
    }
    return render(request, "core/home.html", context)


@require_GET
def help_page(request: HttpRequest) -> HttpResponse:
    return render(request, "core/help.html", {"questions": QUESTIONS})


@require_GET
def help_download(request: HttpRequest) -> HttpResponse:
    text = render_to_string("core/help.txt", {"questions": QUESTIONS, "portal_name": settings.PORTAL_NAME})
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="portal-help.txt"'
    return response


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "core/csrf_failure.html", status=403)
