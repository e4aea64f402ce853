"""Which certificate did this request present, and may we believe where it came from?

Two doors, and only two:

- the portal's own TLS server (`manage.py serve_tls`) puts the DER of the
  client certificate from the handshake in the WSGI environ under
  TLS_ENVIRON_KEY. Request headers can never reach that key: a WSGI server
  files every header under a name that starts with HTTP_.
- a TLS terminator (nginx) passes the certificate, URL-escaped PEM, in
  PORTAL_CARD_HEADER. That header is believed only when the connection comes
  from an address in PORTAL_CARD_PROXIES. From anywhere else it is ignored and
  the attempt is audited: it is someone trying to forge a sign-in.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest

from portal.audit import log as audit
from portal.audit.models import AuditEvent

TLS_ENVIRON_KEY = "portal.tls_client_cert"
MAX_HEADER_LENGTH = 32 * 1024
_CACHE_ATTRIBUTE = "_smartcard_presented"


@dataclass(frozen=True)
class Presented:
    data: bytes  # DER (own TLS server) or PEM (from the proxy)
    source: str  # "tls" or "proxy"


def header_meta_key() -> str:
    return "HTTP_" + settings.PORTAL_CARD_HEADER.upper().replace("-", "_")


def from_card_proxy(request: HttpRequest) -> bool:
    remote = request.META.get("REMOTE_ADDR") or ""
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.PORTAL_CARD_PROXIES)


def presented_certificate(request: HttpRequest) -> Presented | None:
    """The certificate this request carries, or None. Worked out once per request."""
    if hasattr(request, _CACHE_ATTRIBUTE):
        cached: Presented | None = getattr(request, _CACHE_ATTRIBUTE)
        return cached
    presented = _presented(request)
    setattr(request, _CACHE_ATTRIBUTE, presented)
    return presented


def _presented(request: HttpRequest) -> Presented | None:
    der = request.META.get(TLS_ENVIRON_KEY)
    if isinstance(der, bytes) and der:
        return Presented(data=der, source="tls")
    raw = request.META.get(header_meta_key())
    if not raw:
        return None
    if not from_card_proxy(request):
        audit.record(
            "card_header_untrusted",
            outcome=AuditEvent.Outcome.DENIED,
            client_address=getattr(request, "client_address", None),
            details={"path_is_card_sign_in": request.path.startswith("/account/card/")},
        )
        return None
    if len(raw) > MAX_HEADER_LENGTH:
        return None
    # nginx's $ssl_client_escaped_cert: the PEM, URL-escaped. WSGI hands us latin-1 text.
    return Presented(data=unquote_to_bytes(raw.encode("latin-1")), source="proxy")
