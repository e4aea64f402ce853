"""Fetching revocation answers: OCSP first, the CRL when OCSP does not answer.

This module only fetches and caches bytes. Whether an answer is genuine (signed
by the CA or its delegated responder, current, about this certificate) is
decided by the validator, which is handed the bytes (validation.py).
Answers are cached briefly (PORTAL_CARD_REVOCATION_CACHE_SECONDS) so a burst
of sign-ins does not hammer the CA, and a revocation is seen within minutes.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.request
from urllib.error import URLError

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)
MAX_ANSWER_BYTES = 20 * 1024 * 1024  # a large CA's CRL runs to megabytes


def ocsp_urls(certificate: x509.Certificate) -> list[str]:
    try:
        aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [
        d.access_location.value
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.OCSP
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
        and _fetchable(d.access_location.value)
    ]


def crl_urls(certificate: x509.Certificate) -> list[str]:
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    urls: list[str] = []
    for point in points:
        for name in point.full_name or []:
            if isinstance(name, x509.UniformResourceIdentifier) and _fetchable(name.value):
                urls.append(name.value)
    return urls


def _fetchable(url: str) -> bool:
    # CAs publish over plain HTTP (the answers are signed); LDAP and file URLs are not fetched.
    return url.lower().startswith(("http://", "https://"))


def _cache_key(kind: str, *parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return f"smartcard:{kind}:{digest.hexdigest()}"


def _post_or_get(url: str, body: bytes | None, content_type: str) -> bytes | None:
    request = urllib.request.Request(  # noqa: S310 - scheme checked by _fetchable
        url, data=body, headers={"Content-Type": content_type} if body is not None else {}
    )
    try:
        with urllib.request.urlopen(  # noqa: S310 - scheme checked by _fetchable
            request, timeout=settings.PORTAL_CARD_REVOCATION_TIMEOUT_SECONDS
        ) as response:
            if response.status != 200:
                return None
            data: bytes = response.read(MAX_ANSWER_BYTES + 1)
    except (URLError, OSError, ValueError) as error:
        logger.warning("revocation source did not answer: %s (%s)", url, type(error).__name__)
        return None
    return data if 0 < len(data) <= MAX_ANSWER_BYTES else None


def fetch_ocsp(certificate: x509.Certificate, issuer: x509.Certificate) -> bytes | None:
    """A successful OCSP response for `certificate` (good or revoked), or None."""
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(certificate, issuer, hashes.SHA1())  # noqa: S303 - the CertID hash responders expect
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    for url in ocsp_urls(certificate):
        key = _cache_key("ocsp", url, request)
        cached = cache.get(key)
        if cached is not None:
            return bytes(cached)
        answer = _post_or_get(url, request, "application/ocsp-request")
        if answer is None:
            continue
        try:
            parsed = ocsp.load_der_ocsp_response(answer)
        except ValueError:
            continue
        if parsed.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            continue
        cache.set(key, answer, settings.PORTAL_CARD_REVOCATION_CACHE_SECONDS)
        return answer
    return None


def fetch_crl(certificate: x509.Certificate) -> bytes | None:
    """The CRL that covers `certificate`, as DER, or None."""
    for url in crl_urls(certificate):
        key = _cache_key("crl", url)
        cached = cache.get(key)
        if cached is not None:
            return bytes(cached)
        answer = _post_or_get(url, None, "")
        if answer is None:
            continue
        try:
            crl = (
                x509.load_pem_x509_crl(answer)
                if answer.lstrip().startswith(b"-----BEGIN")
                else x509.load_der_x509_crl(answer)
            )
        except ValueError:
            continue
        der = crl.public_bytes(serialization.Encoding.DER)
        cache.set(key, der, settings.PORTAL_CARD_REVOCATION_CACHE_SECONDS)
        return der
    return None
