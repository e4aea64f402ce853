from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from portal.audit.denials import record_denied
from portal.core.acting import Denied


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
