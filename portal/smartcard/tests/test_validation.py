"""Each test card against the validator itself (the HTTPS and nginx tests try them end to end).

The OCSP responder and the CRL are real: served over HTTP by the test PKI, their
answers signed by the test CA and checked by pyhanko-certvalidator."""

from __future__ import annotations

from typing import Any

import pytest

from portal.smartcard.certificates import PIV_AUTHENTICATION_POLICY
from portal.smartcard.testpki import PAULA_DOD_ID, CardPKI
from portal.smartcard.validation import CardRefused, validate_card


def refusal(pki: CardPKI, name: str) -> str:
    with pytest.raises(CardRefused) as refused:
        validate_card(pki.cards[name].der)
    return refused.value.problem


def test_valid_card_gives_its_holders_dod_id_checked_by_ocsp(pki: CardPKI) -> None:
    card = validate_card(pki.cards["paula"].der)
    assert card.dod_id == PAULA_DOD_ID
    assert card.revocation == "ocsp"
    assert card.certificate.serial == format(pki.cards["paula"].certificate.serial_number, "x")


def test_pem_is_read_like_der(pki: CardPKI) -> None:
    assert validate_card(pki.cards["paula"].pem).dod_id == PAULA_DOD_ID


def test_card_with_cn_only_gives_the_dod_id_from_the_cn(pki: CardPKI) -> None:
    assert validate_card(pki.cards["paula_cn_only"].der).dod_id == PAULA_DOD_ID


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("expired", CardRefused.EXPIRED),
        ("not_yet_valid", CardRefused.NOT_YET_VALID),
        ("revoked", CardRefused.REVOKED),
        ("unknown_ca", CardRefused.UNTRUSTED),
        ("self_signed", CardRefused.UNTRUSTED),
        ("email_signing", CardRefused.WRONG_USAGE),
        ("disagree", CardRefused.IDENTITY_CONFLICT),
        ("no_dod_id", CardRefused.NO_DOD_ID),
    ],
)
def test_each_bad_card_is_refused_for_its_own_reason(pki: CardPKI, name: str, problem: str) -> None:
    assert refusal(pki, name) == problem


def test_garbage_is_unreadable() -> None:
    with pytest.raises(CardRefused) as refused:
        validate_card(b"-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    assert refused.value.problem == CardRefused.UNREADABLE
    assert refused.value.certificate is None


def test_no_trust_anchors_means_every_card_is_refused(pki: CardPKI, settings: Any, tmp_path: Any) -> None:
    settings.PORTAL_CARD_TRUST_DIR = str(tmp_path / "empty")
    assert refusal(pki, "paula") == CardRefused.UNTRUSTED


def test_intermediate_alone_is_not_a_trust_anchor(pki: CardPKI, settings: Any, tmp_path: Any) -> None:
    folder = tmp_path / "intermediate-only"
    folder.mkdir()
    (folder / "ca.pem").write_bytes(pki.intermediate.pem)
    settings.PORTAL_CARD_TRUST_DIR = str(folder)
    assert refusal(pki, "paula") == CardRefused.UNTRUSTED


def test_revoked_card_is_refused_by_the_crl_when_ocsp_is_down(pki: CardPKI) -> None:
    pki.service.ocsp_up = False
    assert refusal(pki, "revoked") == CardRefused.REVOKED
    card = validate_card(pki.cards["paula"].der)
    assert card.revocation == "crl"


def test_neither_ocsp_nor_crl_answering_refuses_by_default(pki: CardPKI) -> None:
    pki.service.ocsp_up = False
    pki.service.crl_up = False
    assert refusal(pki, "paula") == CardRefused.REVOCATION_UNKNOWN


def test_neither_answering_is_allowed_and_marked_when_configured(pki: CardPKI, settings: Any) -> None:
    settings.PORTAL_CARD_REVOCATION_FAILURE = "allow"
    pki.service.ocsp_up = False
    pki.service.crl_up = False
    assert validate_card(pki.cards["paula"].der).revocation == "unchecked"


def test_allow_never_lets_a_revoked_card_in_when_the_crl_answers(pki: CardPKI, settings: Any) -> None:
    settings.PORTAL_CARD_REVOCATION_FAILURE = "allow"
    pki.service.ocsp_up = False
    assert refusal(pki, "revoked") == CardRefused.REVOKED


def test_answers_are_cached_briefly(pki: CardPKI) -> None:
    before = pki.service.ocsp_requests
    validate_card(pki.cards["paula"].der)
    validate_card(pki.cards["paula"].der)
    assert pki.service.ocsp_requests == before + 1


def test_required_piv_policy_refuses_a_card_without_it(pki: CardPKI, settings: Any) -> None:
    settings.PORTAL_CARD_POLICIES = [PIV_AUTHENTICATION_POLICY]
    assert validate_card(pki.cards["paula"].der).dod_id == PAULA_DOD_ID
    assert refusal(pki, "no_piv_policy") == CardRefused.POLICY


def test_without_a_required_policy_the_card_without_it_passes(pki: CardPKI) -> None:
    assert validate_card(pki.cards["no_piv_policy"].der).dod_id == PAULA_DOD_ID
