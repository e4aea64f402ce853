"""The operator's commands: test cards for a desktop browser, and the local CA of serve_tls."""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
from django.core.management import call_command

from portal.smartcard.tlsserver import ensure_local_tls
from portal.smartcard.validation import CardRefused, validate_card


def test_test_cards_validate_against_their_own_trust_folder(tmp_path: Path, settings: Any) -> None:
    call_command("make_test_cards", "--into", str(tmp_path / "cards"), stdout=io.StringIO())
    settings.PORTAL_CARD_TRUST_DIR = str(tmp_path / "cards" / "trust")
    settings.PORTAL_CARD_REVOCATION_FAILURE = "allow"
    key, certificate, _chain = pkcs12.load_key_and_certificates(
        (tmp_path / "cards" / "paula.p12").read_bytes(), b"test-card"
    )
    assert key is not None and certificate is not None
    card = validate_card(certificate.public_bytes(Encoding.DER))
    assert card.dod_id == "9900000001"
    assert card.revocation == "unchecked"
    assert stat.S_IMODE((tmp_path / "cards" / "paula.p12").stat().st_mode) == 0o600


def test_test_cards_are_refused_by_default_as_nobody_can_check_revocation(
    tmp_path: Path, settings: Any
) -> None:
    call_command("make_test_cards", "--into", str(tmp_path / "cards"), stdout=io.StringIO())
    settings.PORTAL_CARD_TRUST_DIR = str(tmp_path / "cards" / "trust")
    _key, certificate, _chain = pkcs12.load_key_and_certificates(
        (tmp_path / "cards" / "paula.p12").read_bytes(), b"test-card"
    )
    assert certificate is not None
    with pytest.raises(CardRefused) as refused:
        validate_card(certificate.public_bytes(Encoding.DER))
    assert refused.value.problem == CardRefused.REVOCATION_UNKNOWN


def test_local_ca_is_made_once_with_private_keys_kept_private(tmp_path: Path) -> None:
    first = ensure_local_tls(tmp_path / "tls")
    made = first.server_certificate.read_bytes()
    again = ensure_local_tls(tmp_path / "tls")
    assert again.server_certificate.read_bytes() == made
    assert stat.S_IMODE(first.server_key.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tls" / "local-ca.key").stat().st_mode) == 0o600
    server = x509.load_pem_x509_certificates(made)[0]
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
