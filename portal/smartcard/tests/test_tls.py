"""Every test card over real TLS handshakes against the portal's own HTTPS server.

The server is `serve_tls`'s: two listeners on loopback, a local CA made at
first use, the card listener asking for a client certificate. The client is
Python's ssl with the card's certificate and key, as a browser with a card
reader would present them.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.wsgi import get_wsgi_application

from conftest import finish_first_steps, with_consent
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.core.acting import Actor
from portal.smartcard.actions import do_link_card
from portal.smartcard.testpki import CardPKI
from portal.smartcard.tlsserver import Listener, ensure_local_tls, start_listener
from portal.smartcard.validation import validate_card

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Servers:
    web: Listener
    card: Listener
    ca: Path


@pytest.fixture
def servers(tmp_path: Path, card_settings: Any) -> Iterator[Servers]:
    tls = ensure_local_tls(tmp_path / "tls")
    app = get_wsgi_application()
    options = {"host": "127.0.0.1", "port": 0, "certificate": tls.server_certificate, "key": tls.server_key}
    web = start_listener(app, ask_for_card=False, **options)
    card = start_listener(app, ask_for_card=True, **options)
    yield Servers(web=web, card=card, ca=tls.ca_certificate)
    web.stop()
    card.stop()


@pytest.fixture
def card_files(pki: CardPKI, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("cards")
    return {name: issued.write(folder, name) for name, issued in pki.cards.items()}


def request(
    servers: Servers,
    path: str,
    *,
    card: tuple[Path, Path] | None = None,
    on_card_port: bool = True,
    headers: dict[str, str] | None = None,
) -> http.client.HTTPResponse:
    context = ssl.create_default_context(cafile=str(servers.ca))
    if card is not None:
        context.load_cert_chain(certfile=str(card[0]), keyfile=str(card[1]))
    port = servers.card.port if on_card_port else servers.web.port
    connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=20)
    connection.request("GET", path, headers=with_consent(headers))
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


def body(response: http.client.HTTPResponse) -> str:
    return response.body.decode()  # type: ignore[attr-defined]


def session_cookie(response: http.client.HTTPResponse) -> str | None:
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith("portal_session="):
            return value.split(";", 1)[0]
    return None


@pytest.fixture
def paula_with_card(paula: User, pki: CardPKI) -> User:
    finish_first_steps(paula)
    do_link_card(by=Actor(paula, None), card=validate_card(pki.cards["paula"].der))
    return paula


def test_linked_card_signs_in_over_a_real_handshake(
    servers: Servers, card_files: Any, paula_with_card: User
) -> None:
    response = request(servers, "/account/card/sign-in/", card=card_files["paula"])
    assert response.status == 302
    cookie = session_cookie(response)
    assert cookie is not None
    home = request(servers, "/", on_card_port=False, headers={"Cookie": cookie})
    assert home.status == 200
    assert "Paula" in body(home)


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
def test_each_bad_card_gets_its_page_over_a_real_handshake(
    servers: Servers, card_files: Any, paula_with_card: User, name: str, words: str
) -> None:
    response = request(servers, "/account/card/sign-in/", card=card_files[name])
    assert response.status == 403
    assert words in body(response)
    assert session_cookie(response) is None
    event = AuditEvent.objects.filter(action="card_sign_in_failed").order_by("-id").first()
    assert event is not None
    assert event.details["source"] == "tls"


def test_ordinary_port_never_asks_for_a_card(
    servers: Servers, card_files: Any, paula_with_card: User
) -> None:
    response = request(servers, "/account/card/sign-in/", card=card_files["paula"], on_card_port=False)
    assert response.status == 400
    assert "did not receive a certificate" in body(response)


def test_no_card_on_the_card_port_is_a_clear_page(servers: Servers) -> None:
    response = request(servers, "/account/card/sign-in/")
    assert response.status == 400
    assert "did not receive a certificate" in body(response)


@pytest.mark.parametrize("header", ["X-Client-Cert", "X_Client_Cert", "x_client_cert"])
def test_forged_header_straight_to_the_portal_signs_nobody_in(
    servers: Servers, pki: CardPKI, paula_with_card: User, header: str
) -> None:
    forged = quote(pki.cards["paula"].pem.decode())
    for on_card_port in (True, False):
        response = request(
            servers, "/account/card/sign-in/", on_card_port=on_card_port, headers={header: forged}
        )
        assert response.status == 400
        assert session_cookie(response) is None


def test_forged_header_is_audited(servers: Servers, pki: CardPKI, paula_with_card: User) -> None:
    request(
        servers, "/account/card/sign-in/", headers={"X-Client-Cert": quote(pki.cards["paula"].pem.decode())}
    )
    assert AuditEvent.objects.filter(
        action="card_header_untrusted", outcome=AuditEvent.Outcome.DENIED
    ).exists()


def test_underscore_header_is_dropped_even_from_a_listed_proxy(
    servers: Servers, pki: CardPKI, paula_with_card: User, card_settings: Any
) -> None:
    """Loopback is listed as a proxy here, so only the spelling stops the forgery."""
    card_settings.PORTAL_CARD_PROXIES = ["127.0.0.1"]
    forged = quote(pki.cards["paula"].pem.decode())
    response = request(
        servers, "/account/card/sign-in/", on_card_port=False, headers={"X_Client_Cert": forged}
    )
    assert response.status == 400
    assert session_cookie(response) is None


def test_another_card_on_the_same_session_ends_it(
    servers: Servers, card_files: Any, paula_with_card: User, pki: CardPKI
) -> None:
    cookie = session_cookie(request(servers, "/account/card/sign-in/", card=card_files["paula"]))
    assert cookie is not None
    same = request(servers, "/", card=card_files["paula"], headers={"Cookie": cookie})
    assert same.status == 200
    other = request(servers, "/", card=card_files["eve"], headers={"Cookie": cookie})
    assert other.status == 302
    assert "/account/sign-in/" in (other.getheader("Location") or "")
    after = request(servers, "/", on_card_port=False, headers={"Cookie": cookie})
    assert after.status == 302
