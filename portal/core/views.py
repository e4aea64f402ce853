from __future__ import annotations

import sys

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views import defaults
from django.views.decorators.http import require_GET

from portal.core import health
from portal.core.faq import QUESTIONS
from portal.core.middleware import RETRY_AFTER_SECONDS, is_outage, unavailable


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
    """For the load balancer: 200 "ok", or 503 naming the checks that failed (and nothing more).

    Unauthenticated, unaudited and cheap: one query, one row read, one small file written and
    deleted (`portal.core.health`)."""
    failed = health.failed_checks()
    if failed:
        response = HttpResponse("failed: " + ", ".join(failed), content_type="text/plain", status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponse("ok", content_type="text/plain")


def server_error(request: HttpRequest) -> HttpResponse:
    """The site's handler500: a lost database is an outage (503, Retry-After), anything else a 500.

    Django calls it while the exception is being handled, also for exceptions raised by a
    middleware, which `DatabaseOutageMiddleware.process_exception` never sees."""
    error = sys.exc_info()[1]
    if error is not None and is_outage(error):
        return unavailable(request)
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "core/csrf_failure.html", status=403)
