"""The embedded HTTPS server (`manage.py serve_tls`): two listeners, one WSGI app.

- the ordinary listener never asks for a client certificate;
- the card listener asks for one (and accepts whatever the browser sends:
  the TLS handshake proves the browser holds the card's private key, and
  the portal itself decides whether the certificate is any good, in
  validation.py, so that a bad card gets a page that says what is wrong
  instead of a browser error about a failed handshake).

The card's certificate reaches the app under presented.TLS_ENVIRON_KEY, a
key no request header can be filed under. Headers spelled with underscores
(X_Client_Cert) are dropped: WSGI would file them under the same key as
their dashed twins.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cheroot import wsgi
from cheroot.ssl.pyopenssl import pyOpenSSLAdapter
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL

from portal.smartcard.presented import TLS_ENVIRON_KEY
from portal.smartcard.trust import trust_store


def _accept_any(_connection: Any, _certificate: Any, _errno: int, _depth: int, _ok: int) -> bool:
    # The chain is judged by the portal (validation.py), with revocation and identity.
    return True


class CardGateway(wsgi.Gateway_10):  # type: ignore[misc]
    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]
        environ: dict[str, Any] = super().get_environ()
        for name in self.req.inheaders:
            text = name.decode("latin-1") if isinstance(name, bytes) else str(name)
            if "_" in text:
                environ.pop("HTTP_" + text.upper().replace("-", "_"), None)
        environ.pop(TLS_ENVIRON_KEY, None)
        connection = self.req.conn.socket
        if isinstance(connection, SSL.Connection) or hasattr(connection, "get_peer_certificate"):
            peer = connection.get_peer_certificate(as_cryptography=True)
            if peer is not None:
                environ[TLS_ENVIRON_KEY] = peer.public_bytes(serialization.Encoding.DER)
        return environ


class PortalTLSAdapter(pyOpenSSLAdapter):  # type: ignore[misc]
    def __init__(self, certificate: str, private_key: str, *, ask_for_card: bool) -> None:
        super().__init__(certificate, private_key)
        self.ask_for_card = ask_for_card

    def get_context(self) -> SSL.Context:
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        context.use_certificate_chain_file(self.certificate)
        context.use_privatekey_file(self.private_key)
        if self.ask_for_card:
            context.set_verify(SSL.VERIFY_PEER, _accept_any)
            # Tell the browser which CAs to offer certificates from: the card's, not others.
            for authority in (*trust_store().anchors, *trust_store().intermediates):
                context.add_client_ca(authority)
            context.set_session_id(b"portal-card")
        return context


@dataclass
class Listener:
    server: wsgi.Server
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.bind_addr[1])

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=10)


def start_listener(
    app: Callable[..., Any], *, host: str, port: int, certificate: Path, key: Path, ask_for_card: bool
) -> Listener:
    server = wsgi.Server((host, port), app, numthreads=8, server_name="portal")
    server.gateway = CardGateway
    server.ssl_adapter = PortalTLSAdapter(str(certificate), str(key), ask_for_card=ask_for_card)
    server.prepare()
    thread = threading.Thread(
        target=server.serve, daemon=True, name=f"tls-{'card' if ask_for_card else 'web'}"
    )
    thread.start()
    return Listener(server=server, thread=thread)


# --- The local CA made at first use ------------------------------------------------------


@dataclass(frozen=True)
class LocalTLS:
    ca_certificate: Path  # import this into the browser to trust the local server
    server_certificate: Path  # server certificate, then the local CA
    server_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Patient Portal (local)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.touch(mode=0o600)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def ensure_local_tls(folder: Path, *, hostnames: tuple[str, ...] = ("localhost",)) -> LocalTLS:
    """A local CA and a server certificate for localhost, made once and kept in `folder`."""
    paths = LocalTLS(folder / "local-ca.pem", folder / "server.pem", folder / "server.key")
    if paths.ca_certificate.exists() and paths.server_certificate.exists() and paths.server_key.exists():
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Patient Portal local CA"))
        .issuer_name(_name("Patient Portal local CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in hostnames]
    names += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
    server = (
        x509.CertificateBuilder()
        .subject_name(_name(hostnames[0]))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=397))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(folder / "local-ca.key", ca_key)
    _write_key(paths.server_key, server_key)
    paths.ca_certificate.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.server_certificate.write_bytes(
        server.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    )
    return paths
