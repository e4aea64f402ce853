"""The shipped nginx configuration (deploy/nginx/portal.conf), run for real.

Debian's nginx is started by the test on free loopback ports, with the shipped
file and only its ports, paths and upstream changed. The portal behind it is
Django's live server; the portal lists loopback (nginx) in PORTAL_CARD_PROXIES,
exactly as a deployment would. Cards are presented by Python's ssl client.
"""

from __future__ import annotations

import http.client
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conftest import finish_first_steps, with_consent
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.core.acting import Actor
from portal.smartcard.actions import do_link_card
from portal.smartcard.testpki import CardPKI
from portal.smartcard.tlsserver import ensure_local_tls
from portal.smartcard.validation import validate_card

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SHIPPED = Path(__file__).resolve().parents[3] / "deploy" / "nginx" / "portal.conf"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(NGINX).exists(), reason="nginx is not installed (apt-get install nginx-light)"
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Nginx:
    web_port: int
    card_port: int
    ca: Path


def configure(
    shipped: str, *, upstream: str, web_port: int, card_port: int, tls: Any, trust_pem: Path
) -> str:
    """The shipped file with only what differs on a test machine replaced."""
    replacements = [
        (r"server 127\.0\.0\.1:8000;", f"server {upstream};"),
        (r"listen 443 ssl;", f"listen 127.0.0.1:{web_port} ssl;"),
        (r"listen 8443 ssl;", f"listen 127.0.0.1:{card_port} ssl;"),
        (r"/etc/ssl/portal/server\.pem", str(tls.server_certificate)),
        (r"/etc/ssl/portal/server\.key", str(tls.server_key)),
        (r"/etc/portal/card-trust\.pem", str(trust_pem)),
        (r"server_name portal\.example\.mil;", "server_name localhost;"),
    ]
    text = shipped
    for pattern, replacement in replacements:
        text, count = re.subn(pattern, replacement, text)
        assert count, f"the shipped config no longer has {pattern}"
    return text


@pytest.fixture
def nginx(live_server: Any, pki: CardPKI, tmp_path: Path, card_settings: Any) -> Iterator[Nginx]:
    card_settings.PORTAL_CARD_PROXIES = ["127.0.0.1"]
    tls = ensure_local_tls(tmp_path / "tls")
    trust_pem = tmp_path / "card-trust.pem"
    trust_pem.write_bytes(pki.root.pem + pki.intermediate.pem)
    web_port, card_port = free_port(), free_port()
    upstream = live_server.url.removeprefix("http://")
    prefix = tmp_path / "nginx"
    (prefix / "logs").mkdir(parents=True)
    site = configure(
        SHIPPED.read_text(),
        upstream=upstream,
        web_port=web_port,
        card_port=card_port,
        tls=tls,
        trust_pem=trust_pem,
    )
    (prefix / "portal.conf").write_text(site)
    temp = prefix / "temp"
    (prefix / "nginx.conf").write_text(
        f"""
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {prefix}/portal.conf;
}}
"""
    )
    temp.mkdir()
    process = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", card_port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"nginx did not start: {output} {(prefix / 'logs' / 'error.log').read_text()}")
            time.sleep(0.05)
    yield Nginx(web_port=web_port, card_port=card_port, ca=tls.ca_certificate)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def card_files(pki: CardPKI, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("nginx-cards")
    return {name: issued.write(folder, name) for name, issued in pki.cards.items()}


@pytest.fixture
def paula_with_card(paula: User, pki: CardPKI) -> User:
    finish_first_steps(paula)
    do_link_card(by=Actor(paula, None), card=validate_card(pki.cards["paula"].der))
    return paula


def request(
    server: Nginx,
    path: str,
    *,
    card: tuple[Path, Path] | None = None,
    on_card_port: bool = True,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, str | None, http.client.HTTPResponse]:
    context = ssl.create_default_context(cafile=str(server.ca))
    if card is not None:
        context.load_cert_chain(certfile=str(card[0]), keyfile=str(card[1]))
    port = server.card_port if on_card_port else server.web_port
    connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=20)
    connection.request("GET", path, headers=with_consent(headers))
    response = connection.getresponse()
    text = response.read().decode()
    cookie = next(
        (
            value.split(";", 1)[0]
            for header, value in response.getheaders()
            if header.lower() == "set-cookie" and value.startswith("portal_session=")
        ),
        None,
    )
    connection.close()
    return response.status, text, cookie, response


def test_valid_card_signs_in_through_nginx(nginx: Nginx, card_files: Any, paula_with_card: User) -> None:
    status, _text, cookie, _ = request(nginx, "/account/card/sign-in/", card=card_files["paula"])
    assert status == 302
    assert cookie is not None
    status, text, _cookie, _ = request(nginx, "/", on_card_port=False, headers={"Cookie": cookie})
    assert status == 200
    assert "Paula" in text
    event = AuditEvent.objects.filter(action="card_sign_in").order_by("-id").first()
    assert event is not None
    assert event.details["source"] == "proxy"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("expired", "Your certificate has expired"),
        ("not_yet_valid", "not valid yet"),
        ("revoked", "has been revoked"),
        ("unknown_ca", "do not recognize who issued"),
        ("self_signed", "do not recognize who issued"),
        ("email_signing", "not for signing in"),
        ("disagree", "does not agree with itself"),
    ],
)
def test_each_bad_card_gets_its_page_through_nginx(
    nginx: Nginx, card_files: Any, paula_with_card: User, name: str, words: str
) -> None:
    status, text, cookie, _ = request(nginx, "/account/card/sign-in/", card=card_files[name])
    assert status == 403
    assert words in text
    assert cookie is None
    assert AuditEvent.objects.filter(action="card_sign_in_failed", details__problem__isnull=False).exists()


@pytest.mark.parametrize("header", ["X-Client-Cert", "X_Client_Cert"])
def test_forged_header_through_nginx_is_overwritten(
    nginx: Nginx, pki: CardPKI, paula_with_card: User, header: str
) -> None:
    forged = quote(pki.cards["paula"].pem.decode())
    for on_card_port in (True, False):
        status, text, cookie, _ = request(
            nginx, "/account/card/sign-in/", on_card_port=on_card_port, headers={header: forged}
        )
        assert status == 400, text
        assert cookie is None


def test_forged_header_beside_another_card_is_overwritten_by_that_card(
    nginx: Nginx, pki: CardPKI, card_files: Any, paula_with_card: User
) -> None:
    forged = quote(pki.cards["paula"].pem.decode())
    status, _text, cookie, _ = request(
        nginx, "/account/card/sign-in/", card=card_files["eve"], headers={"X-Client-Cert": forged}
    )
    assert status == 403
    assert cookie is None


def test_another_card_on_the_same_session_ends_it_through_nginx(
    nginx: Nginx, card_files: Any, paula_with_card: User
) -> None:
    _status, _text, cookie, _ = request(nginx, "/account/card/sign-in/", card=card_files["paula"])
    assert cookie is not None
    status, _text, _c, response = request(nginx, "/", card=card_files["eve"], headers={"Cookie": cookie})
    assert status == 302
    assert "/account/sign-in/" in (response.getheader("Location") or "")
    status, _text, _c, _ = request(nginx, "/", on_card_port=False, headers={"Cookie": cookie})
    assert status == 302
