"""Card sign-in, linking, registration, removal and the card-bound session, through Django's views.

The certificate reaches the views the way the portal's own TLS server hands
it over (the WSGI environ key in presented.py); test_tls.py and test_nginx.py
repeat the important journeys over real TLS handshakes.

Paula has an account and a card; Eve is another patient with her own card;
Rosa has a record but no account; Dr. Diaz is staff (password + TOTP).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from django.test import Client

from conftest import PASSWORD, finish_first_steps, sign_in
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.clinics.models import Patient
from portal.core.acting import Actor
from portal.smartcard.models import LinkedCard
from portal.smartcard.presented import TLS_ENVIRON_KEY
from portal.smartcard.testpki import CardPKI
from portal.smartcard.validation import validate_card

pytestmark = pytest.mark.django_db


def with_card(pki: CardPKI, name: str) -> dict[str, Any]:
    return {TLS_ENVIRON_KEY: pki.cards[name].der}


def link(user: User, pki: CardPKI, name: str) -> LinkedCard:
    from portal.smartcard.actions import do_link_card

    return do_link_card(by=Actor(user, None), card=validate_card(pki.cards[name].der))


def last_event(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-id").first()
    assert event is not None, f"no {action} event"
    return event


# --- Signing in ---------------------------------------------------------------------------


def test_linked_card_signs_paula_in_without_a_second_step(client: Client, paula: User, pki: CardPKI) -> None:
    finish_first_steps(paula)
    link(paula, pki, "paula")
    response = client.get("/account/card/sign-in/", **with_card(pki, "paula"))
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert int(client.session["_auth_user_id"]) == paula.pk
    event = last_event("card_sign_in")
    assert event.actor_id == paula.pk
    assert event.details["serial"] == format(pki.cards["paula"].certificate.serial_number, "x")
    assert event.details["revocation"] == "ocsp"
    assert last_event("sign_in").details == {"method": "smart_card", "browser": "other-other"}


def test_staff_card_session_counts_as_verified(client: Client, dr_diaz: User, pki: CardPKI) -> None:
    link(dr_diaz, pki, "diaz")
    client.get("/account/card/sign-in/", **with_card(pki, "diaz"))
    assert int(client.session["_auth_user_id"]) == dr_diaz.pk
    # django-otp's verified flag: the staff console and operator pages ask for it.
    assert client.session.get("otp_device_id", "").startswith("smartcard.linkedcard/")


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
def test_each_bad_card_gets_a_clear_page_and_an_audit_event(
    client: Client, paula: User, pki: CardPKI, name: str, words: str
) -> None:
    link(paula, pki, "paula")
    response = client.get("/account/card/sign-in/", **with_card(pki, name))
    assert response.status_code == 403
    content = response.content.decode()
    assert words in content
    assert 'role="alert"' in content
    assert "_auth_user_id" not in client.session
    event = last_event("card_sign_in_failed")
    assert event.outcome == AuditEvent.Outcome.DENIED
    assert event.details["serial"] == format(pki.cards[name].certificate.serial_number, "x")
    assert event.details["issuer_hash"]
    if name != "self_signed":
        issuer = pki.cards[name].certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        assert event.details["issuer_key_id"] == (issuer.value.key_identifier or b"").hex()


def test_expired_card_page_says_use_your_new_card(client: Client, pki: CardPKI) -> None:
    content = client.get("/account/card/sign-in/", **with_card(pki, "expired")).content.decode()
    assert "Use your new card" in content


def test_no_certificate_gets_a_page_that_says_how_to_present_one(client: Client) -> None:
    response = client.get("/account/card/sign-in/")
    assert response.status_code == 400
    assert "did not receive a certificate" in response.content.decode()


def test_eves_card_never_signs_in_as_paula(client: Client, paula: User, eve: User, pki: CardPKI) -> None:
    link(paula, pki, "paula")
    response = client.get("/account/card/sign-in/", **with_card(pki, "eve"))
    assert response.status_code == 403
    assert "Link your card to your account first" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_unlinked_card_of_a_patient_with_an_account_says_link_it_first(
    client: Client, paula: User, pki: CardPKI
) -> None:
    response = client.get("/account/card/sign-in/", **with_card(pki, "paula"))
    assert "sign in once with your username and password" in response.content.decode().lower()
    assert last_event("card_sign_in_failed").details["next_step"] == "has_account"


def test_replaced_card_is_not_linked_by_its_dod_id_alone(client: Client, paula: User, pki: CardPKI) -> None:
    link(paula, pki, "paula")
    response = client.get("/account/card/sign-in/", **with_card(pki, "paula_new"))
    assert response.status_code == 403
    assert "This card is new to the portal" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_card_linked_before_the_record_changed_hands_signs_nobody_in(
    client: Client, paula: User, pki: CardPKI
) -> None:
    link(paula, pki, "paula")
    Patient.objects.filter(user=paula).update(dod_id="9900000099")
    response = client.get("/account/card/sign-in/", **with_card(pki, "paula"))
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


# --- Linking ---------------------------------------------------------------------------------


def test_paula_links_her_card_after_a_password_sign_in(client: Client, paula: User, pki: CardPKI) -> None:
    finish_first_steps(paula)
    sign_in(client, paula)
    page = client.get("/account/card/link/", **with_card(pki, "paula"))
    assert page.status_code == 200
    assert "Link this card" in page.content.decode()
    response = client.post("/account/card/link/", **with_card(pki, "paula"))
    assert response.status_code == 302
    card = LinkedCard.objects.get(user=paula)
    assert card.fingerprint == validate_card(pki.cards["paula"].der).certificate.fingerprint
    assert last_event("card_linked").actor_id == paula.pk


def test_paula_links_her_replaced_card_after_the_same_proof(
    client: Client, paula: User, pki: CardPKI
) -> None:
    finish_first_steps(paula)
    link(paula, pki, "paula")
    sign_in(client, paula)
    client.post("/account/card/link/", **with_card(pki, "paula_new"))
    assert LinkedCard.objects.filter(user=paula).count() == 2
    client.post("/account/sign-out/")
    response = client.get("/account/card/sign-in/", **with_card(pki, "paula_new"))
    assert response.status_code == 302


def test_paula_cannot_link_eves_card(client: Client, paula: User, eve: User, pki: CardPKI) -> None:
    finish_first_steps(paula)
    sign_in(client, paula)
    response = client.post("/account/card/link/", **with_card(pki, "eve"))
    assert response.status_code == 400
    assert "another person" in response.content.decode()
    assert not LinkedCard.objects.exists()
    assert last_event("card_link_refused").details["problem"] == "not_yours"


def test_staff_cannot_link_a_patients_card(client: Client, dr_diaz: User, paula: User, pki: CardPKI) -> None:
    sign_in(client, dr_diaz)
    response = client.post("/account/card/link/", **with_card(pki, "paula"))
    assert response.status_code == 400
    assert not LinkedCard.objects.exists()


def test_staff_links_their_card_after_password_and_second_step(
    client: Client, dr_diaz: User, pki: CardPKI
) -> None:
    sign_in(client, dr_diaz)
    response = client.post("/account/card/link/", **with_card(pki, "diaz"))
    assert response.status_code == 302
    assert LinkedCard.objects.get(user=dr_diaz).dod_id == "9900000010"


def test_staff_half_way_through_sign_in_cannot_link(client: Client, dr_diaz: User, pki: CardPKI) -> None:
    client.post("/account/sign-in/", {"username": dr_diaz.username, "password": PASSWORD})
    client.post("/account/card/link/", **with_card(pki, "diaz"))
    assert not LinkedCard.objects.exists()


def test_a_card_session_cannot_link_another_card(client: Client, paula: User, pki: CardPKI) -> None:
    finish_first_steps(paula)
    link(paula, pki, "paula")
    client.get("/account/card/sign-in/", **with_card(pki, "paula"))
    client.post("/account/card/link/", **with_card(pki, "paula"))
    assert LinkedCard.objects.filter(user=paula).count() == 1


def test_a_revoked_card_cannot_be_linked(client: Client, paula: User, pki: CardPKI) -> None:
    finish_first_steps(paula)
    sign_in(client, paula)
    response = client.post("/account/card/link/", **with_card(pki, "revoked"))
    assert response.status_code == 403
    assert not LinkedCard.objects.exists()


# --- Registering with a card ------------------------------------------------------------------


def test_rosa_registers_with_her_card_and_date_of_birth(client: Client, rosa: Patient, pki: CardPKI) -> None:
    first = client.get("/account/card/sign-in/", **with_card(pki, "rosa"))
    assert "Create your account with this card" in first.content.decode()
    form = client.get("/account/card/register/", **with_card(pki, "rosa"))
    assert form.status_code == 200
    wrong = client.post(
        "/account/card/register/",
        {"birth_date": "09/15/1975", "username": "rosa"},
        **with_card(pki, "rosa"),
    )
    assert wrong.status_code == 400
    assert "does not match" in wrong.content.decode()
    assert 'value="rosa"' in wrong.content.decode()
    right = client.post(
        "/account/card/register/",
        {"birth_date": "09/14/1975", "username": "rosa"},
        **with_card(pki, "rosa"),
    )
    assert right.status_code == 302
    rosa.refresh_from_db()
    assert rosa.user is not None
    assert not rosa.user.has_usable_password()
    assert int(client.session["_auth_user_id"]) == rosa.user.pk
    assert LinkedCard.objects.get(user=rosa.user).dod_id == rosa.dod_id


def test_registration_needs_the_card_that_found_the_record(
    client: Client, rosa: Patient, pki: CardPKI
) -> None:
    client.get("/account/card/sign-in/", **with_card(pki, "rosa"))
    response = client.post(
        "/account/card/register/",
        {"birth_date": "04/28/1986", "username": "sneaky"},
        **with_card(pki, "paula"),
    )
    assert response.status_code == 302
    assert not User.objects.filter(username="sneaky").exists()


def test_patient_with_an_account_cannot_register_again_with_a_card(
    client: Client, paula: User, pki: CardPKI
) -> None:
    client.get("/account/card/sign-in/", **with_card(pki, "paula"))
    response = client.post(
        "/account/card/register/",
        {"birth_date": "04/28/1986", "username": "paula2"},
        **with_card(pki, "paula"),
    )
    assert response.status_code == 302
    assert not User.objects.filter(username="paula2").exists()


# --- Seeing and removing cards ------------------------------------------------------------------


def test_paula_sees_and_removes_her_card(client: Client, paula: User, pki: CardPKI) -> None:
    finish_first_steps(paula)
    card = link(paula, pki, "paula")
    sign_in(client, paula)
    page = client.get("/account/card/")
    assert card.name in page.content.decode()
    response = client.post(f"/account/card/{card.pk}/remove/")
    assert response.status_code == 302
    assert not LinkedCard.objects.exists()
    assert last_event("card_removed").actor_id == paula.pk


def test_eve_cannot_see_or_remove_paulas_card(
    client: Client, paula: User, eve: User, pki: CardPKI, signed_in: Callable[[User], Client]
) -> None:
    card = link(paula, pki, "paula")
    signed_in(eve)
    assert card.name not in client.get("/account/card/").content.decode()
    assert client.post(f"/account/card/{card.pk}/remove/").status_code == 404
    assert LinkedCard.objects.filter(pk=card.pk).exists()


# --- The card-bound session --------------------------------------------------------------------


def test_another_card_on_the_same_session_ends_it(
    client: Client, paula: User, eve: User, pki: CardPKI
) -> None:
    finish_first_steps(paula)
    link(paula, pki, "paula")
    client.get("/account/card/sign-in/", **with_card(pki, "paula"))
    assert client.get("/", **with_card(pki, "paula")).status_code == 200
    response = client.get("/", **with_card(pki, "eve"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert last_event("card_session_mismatch").actor_id == paula.pk


def test_pages_without_a_card_keep_the_card_session(client: Client, paula: User, pki: CardPKI) -> None:
    finish_first_steps(paula)
    link(paula, pki, "paula")
    client.get("/account/card/sign-in/", **with_card(pki, "paula"))
    assert client.get("/").status_code == 200
    assert int(client.session["_auth_user_id"]) == paula.pk


def test_removing_the_card_ends_the_session_it_started(paula: User, pki: CardPKI) -> None:
    finish_first_steps(paula)
    card = link(paula, pki, "paula")
    on_card = Client()
    on_card.get("/account/card/sign-in/", **with_card(pki, "paula"))
    LinkedCard.objects.filter(pk=card.pk).delete()
    response = on_card.get("/")
    assert response.status_code == 302
    assert "_auth_user_id" not in on_card.session


def test_card_sessions_have_the_same_idle_timeout(
    client: Client, paula: User, pki: CardPKI, settings: Any
) -> None:
    import time

    from portal.accounts import sessions

    finish_first_steps(paula)
    link(paula, pki, "paula")
    client.get("/account/card/sign-in/", **with_card(pki, "paula"))
    session = client.session
    session[sessions.LAST_ACTIVITY] = int(time.time()) - settings.PORTAL_IDLE_TIMEOUT_SECONDS - 5
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --- The certificate header -----------------------------------------------------------------------


def test_forged_header_straight_to_the_portal_signs_nobody_in(
    client: Client, paula: User, pki: CardPKI
) -> None:
    link(paula, pki, "paula")
    from urllib.parse import quote

    forged = quote(pki.cards["paula"].pem.decode())
    response = client.get("/account/card/sign-in/", HTTP_X_CLIENT_CERT=forged)
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert last_event("card_header_untrusted").outcome == AuditEvent.Outcome.DENIED


def test_header_from_a_listed_proxy_is_believed(
    client: Client, paula: User, pki: CardPKI, settings: Any
) -> None:
    from urllib.parse import quote

    finish_first_steps(paula)
    link(paula, pki, "paula")
    settings.PORTAL_CARD_PROXIES = ["127.0.0.1"]
    response = client.get(
        "/account/card/sign-in/",
        HTTP_X_CLIENT_CERT=quote(pki.cards["paula"].pem.decode()),
        REMOTE_ADDR="127.0.0.1",
    )
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == paula.pk


# --- More attacks and the second factor a card stands for -------------------------------------


def test_a_card_with_paulas_name_and_another_number_never_reaches_paula(
    client: Client, paula: User, pki: CardPKI
) -> None:
    from portal.smartcard.testpki import make_card

    finish_first_steps(paula)
    link(paula, pki, "paula")
    namesake = make_card(
        pki.intermediate,
        common_name="QUILL.PAULA.M.9900000077",
        upns=["9900000077@mil"],
        ocsp_url=pki.service.ocsp_url,
        crl_url=pki.service.crl_url,
    )
    response = client.get("/account/card/sign-in/", **{TLS_ENVIRON_KEY: namesake.der})
    assert response.status_code == 403
    assert "could not match this card" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_staff_card_session_opens_the_staff_console(client: Client, dr_diaz: User, pki: CardPKI) -> None:
    link(dr_diaz, pki, "diaz")
    client.get("/account/card/sign-in/", **with_card(pki, "diaz"))
    assert client.get("/staff/").status_code == 200


def test_card_sessions_have_the_same_absolute_timeout(
    client: Client, paula: User, pki: CardPKI, settings: Any
) -> None:
    import time

    from portal.accounts import sessions

    finish_first_steps(paula)
    link(paula, pki, "paula")
    client.get("/account/card/sign-in/", **with_card(pki, "paula"))
    session = client.session
    session[sessions.SIGNED_IN_AT] = int(time.time()) - settings.PORTAL_ABSOLUTE_TIMEOUT_SECONDS - 5
    session.save()
    assert client.get("/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_removed_card_no_longer_signs_in(client: Client, paula: User, pki: CardPKI) -> None:
    card = link(paula, pki, "paula")
    LinkedCard.objects.filter(pk=card.pk).delete()
    response = client.get("/account/card/sign-in/", **with_card(pki, "paula"))
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_inactive_account_is_not_signed_in_by_its_card(client: Client, paula: User, pki: CardPKI) -> None:
    link(paula, pki, "paula")
    User.objects.filter(pk=paula.pk).update(is_active=False)
    response = client.get("/account/card/sign-in/", **with_card(pki, "paula"))
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_administrators_card_session_opens_the_operator_console(
    client: Client, admin_adams: User, pki: CardPKI
) -> None:
    """The operator console asks for a verified (second-factor) session: a card session is one."""
    link(admin_adams, pki, "diaz")
    client.get("/account/card/sign-in/", **with_card(pki, "diaz"))
    assert client.get("/operator/").status_code == 200
