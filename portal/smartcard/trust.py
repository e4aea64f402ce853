"""Trust anchors and intermediate CAs, from the folder of PEM files in PORTAL_CARD_TRUST_DIR.

Self-signed certificates in the folder are trust anchors; the others are
intermediates the validator may use to build a path (browsers and nginx hand
over the card's own certificate only). An intermediate in the folder is not
trusted by being there: it must chain to an anchor like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from django.conf import settings


@dataclass(frozen=True)
class TrustStore:
    anchors: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]


def trust_dir() -> Path:
    return Path(settings.PORTAL_CARD_TRUST_DIR)


def _is_self_signed(certificate: x509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _folder_state(folder: Path) -> tuple[tuple[str, int, int], ...]:
    if not folder.is_dir():
        return ()
    files = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in {".pem", ".crt", ".cer"} and p.is_file()
    )
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


@lru_cache(maxsize=4)
def _load(state: tuple[tuple[str, int, int], ...]) -> TrustStore:
    anchors: list[x509.Certificate] = []
    intermediates: list[x509.Certificate] = []
    for path, _mtime, _size in state:
        for certificate in x509.load_pem_x509_certificates(Path(path).read_bytes()):
            (anchors if _is_self_signed(certificate) else intermediates).append(certificate)
    return TrustStore(anchors=tuple(anchors), intermediates=tuple(intermediates))


def trust_store() -> TrustStore:
    """Read again whenever a file in the folder changes; otherwise from memory."""
    return _load(_folder_state(trust_dir()))


def client_ca_bundle() -> bytes:
    """The anchors and intermediates as one PEM bundle (for a TLS server's CA list)."""
    from cryptography.hazmat.primitives.serialization import Encoding

    store = trust_store()
    return b"".join(cert.public_bytes(Encoding.PEM) for cert in (*store.anchors, *store.intermediates))
