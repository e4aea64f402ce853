"""Is this a genuine, current card certificate, and whose is it?

All of it is decided here, in the portal, by a real path validator
(pyhanko-certvalidator): a path to a configured trust anchor with every
signature checked, validity dates, the PIV authentication policy where
configured, key usage and extended key usage, then revocation (OCSP, the CRL
when OCSP does not answer). A TLS terminator that "verified" the certificate
is never taken at its word.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from django.conf import settings
from pyhanko_certvalidator import CertificateValidator, PKIXValidationParams, ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.path import ValidationPath

from portal.smartcard import revocation
from portal.smartcard.certificates import (
    CLIENT_AUTH,
    SMART_CARD_LOGON,
    CardCertificate,
    CertificateUnreadable,
    IdentityProblem,
    describe,
    dod_id,
    load_certificate,
)
from portal.smartcard.trust import TrustStore, trust_store

logger = logging.getLogger(__name__)


class CardRefused(Exception):
    """Why a certificate does not sign anyone in. `certificate` is None when unreadable."""

    UNREADABLE = "unreadable"
    UNTRUSTED = "untrusted"  # no path to a trust anchor: unknown CA, forged, self-signed
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_USAGE = "wrong_usage"  # not a certificate for signing in (e.g. e-mail signing)
    POLICY = "policy"  # not issued under the required PIV authentication policy
    REVOKED = "revoked"
    REVOCATION_UNKNOWN = "revocation_unknown"  # neither OCSP nor CRL answered
    NO_DOD_ID = IdentityProblem.NONE
    IDENTITY_CONFLICT = IdentityProblem.CONFLICT

    def __init__(self, problem: str, certificate: CardCertificate | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.certificate = certificate


@dataclass(frozen=True)
class ValidatedCard:
    certificate: CardCertificate
    dod_id: str
    revocation: str  # "ocsp", "crl", or "unchecked" (allowed by PORTAL_CARD_REVOCATION_FAILURE=allow)


def validate_card(data: bytes) -> ValidatedCard:
    try:
        certificate = load_certificate(data)
    except CertificateUnreadable:
        raise CardRefused(CardRefused.UNREADABLE, None) from None
    card = describe(certificate)
    store = trust_store()
    if not store.anchors:
        logger.error(
            "no trust anchors in PORTAL_CARD_TRUST_DIR=%s: every card is refused",
            settings.PORTAL_CARD_TRUST_DIR,
        )
        raise CardRefused(CardRefused.UNTRUSTED, card)
    ee = asn1_x509.Certificate.load(card.der)
    path = _validate_path(ee, store, card)
    _check_usage(certificate, card)
    try:
        holder = dod_id(certificate)
    except IdentityProblem as problem:
        raise CardRefused(problem.reason, card) from None
    return ValidatedCard(certificate=card, dod_id=holder, revocation=_check_revocation(ee, store, path, card))


def _context(
    store: TrustStore, *, mode: str, ocsps: list[bytes] | None = None, crls: list[bytes] | None = None
) -> ValidationContext:
    return ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(_der(c)) for c in store.anchors],
        other_certs=[asn1_x509.Certificate.load(_der(c)) for c in store.intermediates],
        allow_fetching=False,
        revocation_mode=mode,
        ocsps=ocsps if mode != "none" else None,
        crls=crls if mode != "none" else None,
    )


def _der(certificate: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return certificate.public_bytes(Encoding.DER)


async def _run(validator: CertificateValidator) -> ValidationPath:
    return await validator.async_validate_path()


def _validate(
    ee: asn1_x509.Certificate, context: ValidationContext, params: PKIXValidationParams | None = None
) -> ValidationPath:
    validator = CertificateValidator(ee, validation_context=context, pkix_params=params)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_run(validator))
    # Called from a thread that runs an event loop (an async caller): validate on another thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _run(validator)).result()


def _validate_path(ee: asn1_x509.Certificate, store: TrustStore, card: CardCertificate) -> ValidationPath:
    try:
        path = _validate(ee, _context(store, mode="none"))
    except ExpiredError:
        raise CardRefused(CardRefused.EXPIRED, card) from None
    except NotYetValidError:
        raise CardRefused(CardRefused.NOT_YET_VALID, card) from None
    except (PathBuildingError, PathValidationError, ValidationError):
        raise CardRefused(CardRefused.UNTRUSTED, card) from None
    policies = list(settings.PORTAL_CARD_POLICIES)
    if policies:
        params = PKIXValidationParams(
            user_initial_policy_set=frozenset(policies), initial_explicit_policy=True
        )
        try:
            path = _validate(ee, _context(store, mode="none"), params)
        except (PathBuildingError, PathValidationError, ValidationError):
            raise CardRefused(CardRefused.POLICY, card) from None
    return path


def _check_usage(certificate: x509.Certificate, card: CardCertificate) -> None:
    """Key usage must allow signing (the TLS handshake), and the purpose must be signing in."""
    try:
        key_usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise CardRefused(CardRefused.WRONG_USAGE, card) from None
    if not key_usage.digital_signature or not ({CLIENT_AUTH, SMART_CARD_LOGON} & set(usages)):
        raise CardRefused(CardRefused.WRONG_USAGE, card)


def _issuers(path: ValidationPath) -> list[tuple[x509.Certificate, x509.Certificate]]:
    """(certificate, its issuer) for each certificate below the trust anchor, card first."""
    chain = [x509.load_der_x509_certificate(c.dump()) for c in path.iter_certs(include_root=True)]
    chain.reverse()  # iter_certs runs from the anchor down to the card
    return list(zip(chain[:-1], chain[1:], strict=True))


def _check_revocation(
    ee: asn1_x509.Certificate, store: TrustStore, path: ValidationPath, card: CardCertificate
) -> str:
    pairs = _issuers(path)
    card_certificate = pairs[0][0]
    declared = bool(revocation.ocsp_urls(card_certificate) or revocation.crl_urls(card_certificate))
    if declared:
        ocsps = [answer for cert, issuer in pairs if (answer := revocation.fetch_ocsp(cert, issuer))]
        if _revocation_holds(ee, store, card, ocsps=ocsps, crls=[]):
            return "ocsp"
        crls = [answer for cert, _issuer in pairs if (answer := revocation.fetch_crl(cert))]
        if crls and _revocation_holds(ee, store, card, ocsps=ocsps, crls=crls):
            return "crl"
    if settings.PORTAL_CARD_REVOCATION_FAILURE == "allow":
        logger.warning("card %s: revocation could not be checked; allowed by configuration", card.serial)
        return "unchecked"
    raise CardRefused(CardRefused.REVOCATION_UNKNOWN, card)


def _revocation_holds(
    ee: asn1_x509.Certificate,
    store: TrustStore,
    card: CardCertificate,
    *,
    ocsps: list[bytes],
    crls: list[bytes],
) -> bool:
    """True: every declared check answered "good". A "revoked" answer refuses the card outright."""
    try:
        _validate(ee, _context(store, mode="hard-fail", ocsps=ocsps, crls=crls))
    except RevokedError:
        raise CardRefused(CardRefused.REVOKED, card) from None
    except InsufficientRevinfoError:
        return False
    except (PathBuildingError, PathValidationError, ValidationError):
        return False
    return True
