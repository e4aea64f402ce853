"""A small, complete test PKI: root, intermediate, OCSP responder, CRL and cards.

Used by the tests and by `manage.py make_test_cards` (to try card sign-in in a
desktop browser). Nothing here is trusted unless an operator puts its root in
PORTAL_CARD_TRUST_DIR. Keys are P-256: quick to make, and accepted by browsers,
nginx and the validator alike.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from asn1crypto import core as asn1_core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from portal.smartcard.certificates import PIV_AUTHENTICATION_POLICY, SMART_CARD_LOGON, UPN_OID

Key = ec.EllipticCurvePrivateKey


def now() -> datetime:
    return datetime.now(UTC)


def new_key() -> Key:
    return ec.generate_private_key(ec.SECP256R1())


def dod_name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "U.S. Government"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DoD"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def upn(value: str) -> x509.OtherName:
    return x509.OtherName(UPN_OID, asn1_core.UTF8String(value).dump())


@dataclass
class Issued:
    """A certificate and its key."""

    certificate: x509.Certificate
    key: Key

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def write(self, folder: Path, name: str) -> tuple[Path, Path]:
        cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
        cert_path.write_bytes(self.pem)
        key_path.touch(mode=0o600)
        key_path.write_bytes(self.key_pem())
        return cert_path, key_path

    def pkcs12(self, password: bytes, *, chain: list[x509.Certificate]) -> bytes:
        return pkcs12.serialize_key_and_certificates(
            b"test card",
            self.key,
            self.certificate,
            chain,
            serialization.BestAvailableEncryption(password),
        )


def make_ca(
    common_name: str, *, issuer: Issued | None = None, key: Key | None = None, path_length: int | None = None
) -> Issued:
    key = key or new_key()
    subject = dod_name(common_name)
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now() - timedelta(days=30))
        .not_valid_after(now() + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier("2.5.29.32.0"), None)]),
            critical=False,
        )
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    return Issued(builder.sign(signer_key, hashes.SHA256()), key)


def _key_usage(*, digital_signature: bool = True, content_commitment: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def make_card(
    issuer: Issued | None,
    *,
    common_name: str,
    upns: list[str] | None = None,
    subject: x509.Name | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    usages: list[x509.ObjectIdentifier] | None = None,
    key_usage: x509.KeyUsage | None = None,
    policies: list[str] | None = None,
    ocsp_url: str | None = None,
    crl_url: str | None = None,
) -> Issued:
    """A card's PIV authentication certificate. `issuer=None` makes it self-signed."""
    key = new_key()
    subject = subject or dod_name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now() - timedelta(days=1))
        .not_valid_after(not_after or now() + timedelta(days=3 * 365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage or _key_usage(), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                usages if usages is not None else [ExtendedKeyUsageOID.CLIENT_AUTH, SMART_CARD_LOGON]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if upns:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([upn(value) for value in upns]), critical=False
        )
    chosen_policies = [PIV_AUTHENTICATION_POLICY] if policies is None else policies
    if chosen_policies:
        builder = builder.add_extension(
            x509.CertificatePolicies(
                [x509.PolicyInformation(x509.ObjectIdentifier(oid), None) for oid in chosen_policies]
            ),
            critical=False,
        )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
                    )
                ]
            ),
            critical=False,
        )
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)]
            ),
            critical=False,
        )
    return Issued(builder.sign(issuer.key if issuer else key, hashes.SHA256()), key)


def make_ocsp_responder(issuer: Issued) -> Issued:
    key = new_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(dod_name("Test OCSP Responder"))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now() - timedelta(days=1))
        .not_valid_after(now() + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
        .sign(issuer.key, hashes.SHA256())
    )
    return Issued(certificate, key)


def make_crl(issuer: Issued, revoked_serials: list[int]) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.certificate.subject)
        .last_update(now() - timedelta(minutes=5))
        .next_update(now() + timedelta(days=1))
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now() - timedelta(days=1))
            .build()
        )
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@dataclass
class RevocationService:
    """An OCSP responder and a CRL, served over plain HTTP on loopback, as CAs do."""

    issuer: Issued
    responder: Issued
    revoked: set[int] = field(default_factory=set)
    ocsp_up: bool = True
    crl_up: bool = True
    ocsp_requests: int = 0
    crl_requests: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def ocsp_url(self) -> str:
        return f"{self.base_url}/ocsp"

    @property
    def crl_url(self) -> str:
        return f"{self.base_url}/crl/intermediate.crl"

    def ocsp_answer(self, request_der: bytes) -> bytes:
        request = ocsp.load_der_ocsp_request(request_der)
        serial = request.serial_number
        status = ocsp.OCSPCertStatus.REVOKED if serial in self.revoked else ocsp.OCSPCertStatus.GOOD
        # The request names the certificate by serial and issuer only; the
        # builder wants a certificate, so a stand-in with that serial is signed.
        stand_in = (
            x509.CertificateBuilder()
            .subject_name(dod_name("stand-in"))
            .issuer_name(self.issuer.certificate.subject)
            .public_key(self.responder.key.public_key())
            .serial_number(serial)
            .not_valid_before(now() - timedelta(days=1))
            .not_valid_after(now() + timedelta(days=1))
            .sign(self.issuer.key, hashes.SHA256())
        )
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=stand_in,
            issuer=self.issuer.certificate,
            algorithm=hashes.SHA1(),  # noqa: S303 - the CertID hash every OCSP client sends
            cert_status=status,
            this_update=now() - timedelta(minutes=1),
            next_update=now() + timedelta(hours=1),
            revocation_time=now() - timedelta(days=1) if status == ocsp.OCSPCertStatus.REVOKED else None,
            revocation_reason=x509.ReasonFlags.key_compromise
            if status == ocsp.OCSPCertStatus.REVOKED
            else None,
        )
        builder = builder.responder_id(
            ocsp.OCSPResponderEncoding.HASH, self.responder.certificate
        ).certificates([self.responder.certificate])
        for extension in request.extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, critical=False)
        response = builder.sign(self.responder.key, hashes.SHA256())
        return response.public_bytes(serialization.Encoding.DER)

    def crl(self) -> bytes:
        return make_crl(self.issuer, sorted(self.revoked))

    def start(self) -> RevocationService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path != "/ocsp" or not service.ocsp_up:
                    self._send(503, b"", "text/plain")
                    return
                service.ocsp_requests += 1
                self._send(200, service.ocsp_answer(body), "application/ocsp-response")

            def do_GET(self) -> None:
                if self.path != "/crl/intermediate.crl" or not service.crl_up:
                    self._send(503, b"", "text/plain")
                    return
                service.crl_requests += 1
                self._send(200, service.crl(), "application/pkix-crl")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# The named people on the cards (see conftest.py): their DoD ID numbers.
PAULA_DOD_ID = "9900000001"
EVE_DOD_ID = "9900000002"
ROSA_DOD_ID = "9900000005"
DIAZ_DOD_ID = "9900000010"


@dataclass
class CardPKI:
    root: Issued
    intermediate: Issued
    service: RevocationService
    cards: dict[str, Issued]

    def write_trust_dir(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "test-root.pem").write_bytes(self.root.pem)
        (folder / "test-intermediate.pem").write_bytes(self.intermediate.pem)
        return folder


def build_test_pki(*, with_revocation_service: bool = True) -> CardPKI:
    """Every card the tests try. Cards name the running OCSP responder and CRL."""
    root = make_ca("Test Root CA 3", path_length=1)
    intermediate = make_ca("TEST ID CA-59", issuer=root, path_length=0)
    service = RevocationService(issuer=intermediate, responder=make_ocsp_responder(intermediate))
    ocsp_url: str | None = None
    crl_url: str | None = None
    if with_revocation_service:
        service.start()
        ocsp_url, crl_url = service.ocsp_url, service.crl_url

    def card(
        common_name: str, upns: list[str] | None, *, issuer: Issued = intermediate, **options: Any
    ) -> Issued:
        return make_card(
            issuer, common_name=common_name, upns=upns, ocsp_url=ocsp_url, crl_url=crl_url, **options
        )

    paula_cn = f"QUILL.PAULA.M.{PAULA_DOD_ID}"
    paula_upn = [f"{PAULA_DOD_ID}@mil"]
    # An impostor CA that copies the real intermediate's name, with its own key.
    impostor = make_ca("TEST ID CA-59", issuer=make_ca("Test Root CA 3"), path_length=0)
    cards = {
        "paula": card(paula_cn, paula_upn),
        "paula_new": card(paula_cn, paula_upn),
        "paula_cn_only": card(paula_cn, None),
        "eve": card(f"VANCE.EVE.{EVE_DOD_ID}", [f"{EVE_DOD_ID}@mil"]),
        "rosa": card(f"MARSH.ROSA.J.{ROSA_DOD_ID}", [f"{ROSA_DOD_ID}@mil"]),
        "diaz": card(f"DIAZ.DANA.{DIAZ_DOD_ID}", [f"{DIAZ_DOD_ID}@mil"]),
        "expired": card(
            paula_cn, paula_upn, not_before=now() - timedelta(days=1100), not_after=now() - timedelta(days=2)
        ),
        "not_yet_valid": card(
            paula_cn, paula_upn, not_before=now() + timedelta(days=2), not_after=now() + timedelta(days=900)
        ),
        "revoked": card(paula_cn, paula_upn),
        "unknown_ca": card(paula_cn, paula_upn, issuer=impostor),
        "self_signed": make_card(None, common_name=paula_cn, upns=paula_upn),
        "email_signing": card(
            paula_cn,
            paula_upn,
            usages=[ExtendedKeyUsageOID.EMAIL_PROTECTION],
            key_usage=_key_usage(digital_signature=True, content_commitment=True),
        ),
        "disagree": card(paula_cn, [f"{EVE_DOD_ID}@mil"]),
        "no_piv_policy": card(paula_cn, paula_upn, policies=[]),
        "no_dod_id": card("QUILL.PAULA.M", None),
    }
    service.revoked.add(cards["revoked"].certificate.serial_number)
    return CardPKI(root=root, intermediate=intermediate, service=service, cards=cards)
