from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from portal.core.faq import QUESTIONS


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
