from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.template.loader import render_to_string

from portal.audit import log as audit_log
from portal.audit.denials import record_denied
from portal.core.acting import Denied

logger = logging.getLogger(__name__)


def client_address(request: HttpRequest) -> str | None:
    """The address of the person, not of our own proxy.

    X-Forwarded-For is believed only when the connection comes from a proxy
    listed in PORTAL_TRUSTED_PROXIES, and then only its rightmost hop that is
    not one of ours: anything to the left of that was written by the client.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = settings.PORTAL_TRUSTED_PROXIES
    if remote is None or not _in_networks(remote, trusted):
        return _valid_ip(remote)
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _in_networks(hop, trusted):
            return _valid_ip(hop)
    return _valid_ip(remote)


def _valid_ip(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _in_networks(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network, strict=False) for network in networks)


class ClientAddressMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.client_address = client_address(request)  # type: ignore[attr-defined]
        return self.get_response(request)


class NoStoreMiddleware:
    """Pages may hold health data: no browser or proxy keeps a copy of any of them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response


class DeniedAccessMiddleware:
    """Writes the `access.denied` event of a door's refusal that reached the top of the view.

    By then every `transaction.atomic` the view opened has rolled back, so the event is
    written on its own and survives; the response is Django's ordinary 404 page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, Denied):
            record_denied(
                actor_id=exception.actor_id,
                kind=exception.kind,
                object_id=exception.object_id,
                client_address=getattr(request, "client_address", None),
            )
        # None: Django answers the 404 as for any other.


# The methods a page of the portal answers; TRACE echoes a request (cookies and all) back, and
# OPTIONS advertises what a cross-origin caller could do: no page and no static file needs either
# (every script of the portal talks to its own origin, so no browser ever sends a CORS preflight).
REFUSED_METHODS = frozenset({"TRACE", "OPTIONS", "CONNECT", "TRACK"})
ALLOWED_METHODS = ["GET", "HEAD", "POST"]


class SealAuditAtTheEndMiddleware:
    """Audit events a request commits are chained once, at the request's end (not at each of
    its commits): see portal.audit.log.sealing_at_the_end."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_log.sealing_at_the_end():
            return self.get_response(request)


class RefuseMethodsMiddleware:
    """TRACE, OPTIONS (and CONNECT, TRACK) answer 405 on every address, before anything else runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (request.method or "").upper() in REFUSED_METHODS:
            response = HttpResponseNotAllowed(ALLOWED_METHODS, content=b"Method not allowed.")
            response["Content-Type"] = "text/plain; charset=utf-8"
            return response
        return self.get_response(request)


class RequestSizeMiddleware:
    """A request body larger than PORTAL_MAX_REQUEST_BYTES is refused before a byte of it is read.

    Uploads are kept in memory only (FILE_UPLOAD_HANDLERS), never spooled to disk in the clear:
    this cap is what keeps that memory bounded. It runs first, before the CSRF check or a view
    reads the body. A body sent without a length (chunked) is read by Django as empty.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.PORTAL_MAX_REQUEST_BYTES:
            return _too_large(request)
        return self.get_response(request)


def _too_large(request: HttpRequest) -> HttpResponse:
    most = f"{settings.PORTAL_MAX_REQUEST_BYTES / (1024 * 1024):.0f} MB"
    message = (
        f"That was more than the portal takes at once ({most}). Nothing was sent: "
        "attach fewer or smaller files and try again."
    )
    if wants_json(request):
        return JsonResponse({"error": message}, status=413)
    html = render_to_string("core/too_large.html", {"message": message, "most": most})
    # The body is left unread: the server closes the connection (no hop-by-hop header from WSGI).
    return HttpResponse(html, status=413)


# Connection failures of the database (it is down, restarting, or out of connections); a
# constraint or a bad query is a programming error, not an outage, and stays a 500.
RETRY_AFTER_SECONDS = 30


def is_outage(error: BaseException) -> bool:
    # SQLite's "database is locked" is an OperationalError too: busy rather than down, and
    # "try again in a moment" is the right answer to it as well.
    return isinstance(error, (OperationalError, InterfaceError))


def wants_json(request: HttpRequest) -> bool:
    """The page's script (autosave, files saved as they are chosen) asks for JSON answers."""
    return "application/json" in request.headers.get("Accept", "")


def unavailable(request: HttpRequest | None) -> HttpResponse:
    """The answer while the database is unreachable: 503, Retry-After, and what to do now.

    Rendered without the request's context (no session, no user, no database)."""
    posted = request is not None and request.method == "POST"
    if request is not None and wants_json(request):
        response: HttpResponse = JsonResponse({"error": UNAVAILABLE, "unavailable": True}, status=503)
    else:
        html = render_to_string("503.html", {"message": UNAVAILABLE, "posted": posted})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


UNAVAILABLE = "The portal is not available just now. Try again in a moment."


class DatabaseOutageMiddleware:
    """A view that loses the database answers 503 with Retry-After, not a generic 500.

    Exceptions raised by other middleware (the session or sign-in checks) reach the site's
    `handler500`, which gives the same answer for the same errors (`portal.core.views.server_error`).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_outage(exception):
            return None
        logger.warning("database unreachable (%s): answered 503", type(exception).__name__)
        return unavailable(request)
