"""Reading a card's certificate: what it is, and whose DoD ID number it carries.

The DoD ID number (EDIPI) is read from two places, and only in their exact
shapes: the UPN `1234567890@mil` in the subject alternative name, and the last
part of the subject's single common name `LAST.FIRST.MIDDLE.1234567890`. Every
other shape (several CNs, several UPNs, characters a DoD CN never has,
non-ASCII digits) yields no identity rather than a guess.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import core as asn1_core
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

UPN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")
SMART_CARD_LOGON = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.2")
CLIENT_AUTH = x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH
# id-fpki-common-authentication: the PIV Authentication certificate policy.
PIV_AUTHENTICATION_POLICY = "2.16.840.1.101.3.2.1.3.13"

_UPN = re.compile(r"([0-9]{10})@mil", re.IGNORECASE)
# Name parts: ASCII letters, with the hyphens, apostrophes and spaces real names have.
_CN = re.compile(r"[A-Z][A-Z' \-]*(?:\.[A-Z][A-Z' \-]*){0,4}\.([0-9]{10})", re.IGNORECASE)


class CertificateUnreadable(Exception):
    """The bytes are not one X.509 certificate."""


class IdentityProblem(Exception):
    NONE = "no_dod_id"  # neither a UPN nor a CN carries a DoD ID number
    CONFLICT = "identity_conflict"  # two sources disagree, or one source is ambiguous

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CardCertificate:
    """The facts of one certificate that the portal records and shows."""

    der: bytes
    fingerprint: str  # SHA-256 of the DER, lower-case hex
    serial: str  # lower-case hex
    issuer: str  # RFC 4514
    issuer_hash: str  # first 32 hex of SHA-256 of the issuer name's DER: a short id for the audit log
    issuer_key_id: str  # the authority key identifier (hex): matches the issuing CA's subject key id
    subject: str
    not_before: datetime
    not_after: datetime

    @property
    def short_fingerprint(self) -> str:
        return ":".join(self.fingerprint[i : i + 2] for i in range(0, 16, 2)).upper()


def load_certificate(data: bytes) -> x509.Certificate:
    """One certificate, PEM or DER. Anything else is refused."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            certificates = x509.load_pem_x509_certificates(data)
            if len(certificates) != 1:
                raise CertificateUnreadable("expected exactly one certificate")
            return certificates[0]
        return x509.load_der_x509_certificate(data)
    except ValueError as error:
        raise CertificateUnreadable(str(error)) from None


def describe(certificate: x509.Certificate) -> CardCertificate:
    der = certificate.public_bytes(serialization.Encoding.DER)
    return CardCertificate(
        der=der,
        fingerprint=hashlib.sha256(der).hexdigest(),
        serial=format(certificate.serial_number, "x"),
        issuer=certificate.issuer.rfc4514_string(),
        issuer_hash=hashlib.sha256(certificate.issuer.public_bytes()).hexdigest()[:32],
        issuer_key_id=_authority_key_id(certificate),
        subject=certificate.subject.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )


def _authority_key_id(certificate: x509.Certificate) -> str:
    try:
        value = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except (x509.ExtensionNotFound, ValueError):
        return ""
    return (value.key_identifier or b"").hex()[:64]


def upn_dod_ids(certificate: x509.Certificate) -> list[str | None]:
    """One entry per UPN in the SAN: its DoD ID number, or None if it has another shape."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    found: list[str | None] = []
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id != UPN_OID:
            continue
        try:
            value = asn1_core.UTF8String.load(other.value).native
        except ValueError:
            found.append(None)
            continue
        match = _UPN.fullmatch(value) if isinstance(value, str) else None
        found.append(match.group(1) if match else None)
    return found


def cn_dod_ids(certificate: x509.Certificate) -> list[str | None]:
    """One entry per CN in the subject: its DoD ID number, or None if it has another shape."""
    found: list[str | None] = []
    for attribute in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        value = attribute.value
        match = _CN.fullmatch(value) if isinstance(value, str) else None
        found.append(match.group(1) if match else None)
    return found


def dod_id(certificate: x509.Certificate) -> str:
    """The card holder's DoD ID number, or IdentityProblem."""
    from_upn = upn_dod_ids(certificate)
    from_cn = cn_dod_ids(certificate)
    if len(from_upn) > 1 or len(from_cn) > 1:
        raise IdentityProblem(IdentityProblem.CONFLICT)
    candidates = {value for value in [*from_upn, *from_cn] if value is not None}
    if len(candidates) > 1:
        raise IdentityProblem(IdentityProblem.CONFLICT)
    if not candidates:
        raise IdentityProblem(IdentityProblem.NONE)
    # A UPN that is present but not of the DoD shape, beside a CN that is, is
    # not a confirmation: refuse rather than trust the one that reads well.
    if from_upn and from_upn[0] is None and from_cn and from_cn[0] is not None:
        raise IdentityProblem(IdentityProblem.CONFLICT)
    return candidates.pop()
