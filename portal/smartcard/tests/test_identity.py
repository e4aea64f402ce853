"""Whose card is it? Only the exact DoD shapes map to a person; anything odd maps to nobody."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from portal.smartcard.certificates import IdentityProblem, dod_id
from portal.smartcard.testpki import make_card


def card(
    common_name: str = "QUILL.PAULA.M.9900000001",
    upns: list[str] | None = None,
    subject: x509.Name | None = None,
) -> x509.Certificate:
    return make_card(None, common_name=common_name, upns=upns, subject=subject).certificate


def problem(certificate: x509.Certificate) -> str:
    with pytest.raises(IdentityProblem) as raised:
        dod_id(certificate)
    return raised.value.reason


def test_upn_and_cn_that_agree_give_the_dod_id() -> None:
    assert dod_id(card(upns=["9900000001@mil"])) == "9900000001"


def test_upn_alone_gives_the_dod_id() -> None:
    assert dod_id(card(common_name="Paula Quill", upns=["9900000001@MIL"])) == "9900000001"


@pytest.mark.parametrize(
    "common_name",
    ["QUILL.PAULA.9900000001", "O'NEIL-SMITH.MARY ANN.K.9900000001", "QUILL.PAULA.M.JR.9900000001"],
)
def test_real_name_shapes_give_the_dod_id(common_name: str) -> None:
    assert dod_id(card(common_name=common_name)) == "9900000001"


def test_cn_and_upn_that_disagree_are_refused() -> None:
    assert problem(card(upns=["9900000002@mil"])) == IdentityProblem.CONFLICT


def test_two_upns_are_refused_even_when_one_matches() -> None:
    assert problem(card(upns=["9900000001@mil", "9900000002@mil"])) == IdentityProblem.CONFLICT


def test_a_upn_of_another_shape_beside_a_good_cn_is_refused() -> None:
    assert problem(card(upns=["9900000001@mil.example.com"])) == IdentityProblem.CONFLICT


def test_several_cns_are_refused() -> None:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "QUILL.PAULA.M.9900000001"),
            x509.NameAttribute(NameOID.COMMON_NAME, "VANCE.EVE.9900000002"),
        ]
    )
    assert problem(card(subject=subject)) == IdentityProblem.CONFLICT


def test_several_cns_in_one_multi_valued_rdn_are_refused() -> None:
    rdn = x509.RelativeDistinguishedName(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "QUILL.PAULA.M.9900000001"),
            x509.NameAttribute(NameOID.COMMON_NAME, "QUILL.PAULA.9900000001"),
        ]
    )
    assert problem(card(subject=x509.Name([rdn]))) == IdentityProblem.CONFLICT


@pytest.mark.parametrize(
    "common_name",
    [
        "VANCE.EVE.9900000002,CN=QUILL.PAULA.M.9900000001",  # an escaped comma inside one CN
        "QUILL\\,PAULA.9900000001",
        "QUILL.PAULA.9900000001\x00",
        "QUILL.PAULA.9900000001 ",
        "QUILL.PAULA.\u0669\u0669\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0661",  # Arabic-Indic digits
        "QUILL.PAULA.99000000011",
        "QUILL.PAULA.990000001",
        "QUILL.PAULA+CN=X.9900000001",
        "9900000001",
        "ＱＵＩＬＬ.PAULA.9900000001",  # full-width letters
    ],
)
def test_odd_cns_map_to_nobody(common_name: str) -> None:
    assert problem(card(common_name=common_name)) == IdentityProblem.NONE


def test_a_forged_cn_with_a_comma_never_picks_the_second_person() -> None:
    certificate = card(
        common_name="VANCE.EVE.9900000002,CN=QUILL.PAULA.M.9900000001", upns=["9900000001@mil"]
    )
    # The UPN names Paula; the CN is not of the DoD shape: the UPN alone decides.
    assert dod_id(certificate) == "9900000001"
    conflicting = card(common_name="QUILL.PAULA.M.9900000001\\,VANCE.EVE.9900000002", upns=["9900000002@mil"])
    # Paula's number inside an odd CN is never read: only Eve's UPN names anyone.
    assert dod_id(conflicting) == "9900000002"


def test_no_cn_and_no_upn_is_no_identity() -> None:
    assert (
        problem(card(subject=x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "U.S. Government")])))
        == IdentityProblem.NONE
    )
