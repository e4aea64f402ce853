"""Attacks a reviewer found, each closed: the test is the attack."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD, finish_first_steps
from portal.accounts.models import User
from portal.accounts.views.registration import REGISTRATION_PATIENT
from portal.clinics.models import Patient


def _text_key(response: Any) -> str:
    match = re.search(r'id="text-key">([A-Z2-7 ]+)<', response.content.decode())
    assert match is not None
    return match.group(1)


def test_an_authenticator_key_seen_by_one_session_is_never_given_to_another(paula: User) -> None:
    """Mallory knows Paula's password and opens the set-up page; the key Paula later
    gets (and confirms) is not the one Mallory saw."""
    finish_first_steps(paula)
    mallory, owner = Client(), Client()
    for client in (mallory, owner):
        client.post("/account/sign-in/", {"username": "paula", "password": PASSWORD})
    seen_by_mallory = _text_key(mallory.get("/account/security/authenticator/"))
    seen_by_paula = _text_key(owner.get("/account/security/authenticator/"))
    assert seen_by_mallory != seen_by_paula
    assert _text_key(owner.get("/account/security/authenticator/")) == seen_by_paula  # stable for her
    assert TOTPDevice.objects.filter(user=paula, confirmed=False).count() == 1


def test_guessing_one_patients_birth_date_from_many_addresses_is_stopped(
    client: Client, rosa: Patient
) -> None:
    """Ten wrong dates of birth for Rosa's DoD ID, from ten addresses of one /64 and
    from other networks, lock her record; the right date is then refused too."""
    for number in range(10):
        address = f"2001:db8:0:{number}::1" if number % 2 else f"198.51.100.{number}"
        client.post(
            "/account/register/",
            {
                "dod_id": rosa.dod_id,
                "birth_date": f"01/{number + 1:02d}/1950",
                "last_name": "Marsh",
            },
            REMOTE_ADDR=address,
        )
    response = client.post(
        "/account/register/",
        {
            "dod_id": rosa.dod_id,
            "birth_date": "09/14/1975",
            "last_name": "Marsh",
        },
        REMOTE_ADDR="203.0.113.50",
    )
    assert b"Too many attempts" in response.content
    assert REGISTRATION_PATIENT not in client.session


def test_a_record_match_waits_only_a_few_minutes_on_a_shared_computer(client: Client, rosa: Patient) -> None:
    client.post(
        "/account/register/",
        {
            "dod_id": rosa.dod_id,
            "birth_date": "09/14/1975",
            "last_name": "Marsh",
        },
    )
    assert client.get("/account/register/account/").status_code == 200
    session = client.session
    session[REGISTRATION_PATIENT] = {**session[REGISTRATION_PATIENT], "at": 0}
    session.save()
    response = client.get("/account/register/account/")
    assert response.status_code == 302 and response["Location"] == "/account/register/"


def test_a_password_reset_confirms_the_address_so_the_person_can_sign_in(
    client: Client, paula: User, django_capture_on_commit_callbacks: Any
) -> None:
    """An account with no confirmed address (made with a card, or by an administrator)
    is not stuck at "Confirm your e-mail address first" after a reset."""
    User.objects.filter(pk=paula.pk).update(email_confirmed_at=None)
    finish_first_steps(paula)
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/account/password-reset/", {"username": "paula"})
    path = re.search(r"/account/password-reset/[^/\s]+/", mail.outbox[0].body)
    assert path is not None
    new = "a brand new quiet password"
    client.post(path.group(0), {"password": new, "password_confirm": new})
    response = client.post("/account/sign-in/", {"username": "paula", "password": new})
    assert response.status_code == 302
    paula.refresh_from_db()
    assert paula.email_confirmed_at is not None and paula.email_confirmed_at <= timezone.now()
