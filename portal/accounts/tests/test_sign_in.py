"""Password sign-in: who gets in, who does not, and what each of them is told."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from conftest import PASSWORD, finish_first_steps
from portal.accounts.models import SignInThrottle, User
from portal.accounts.selectors import current_terms
from portal.accounts.tests.helpers import actions, age_session, audit_text, last_link
from portal.accounts.views.signin import WRONG_CREDENTIALS
from portal.audit.models import AuditEvent
from portal.clinics.models import Patient


def test_patient_with_right_password_lands_on_home(client: Client, paula: User) -> None:
    """Paula, with no second factor and first steps done, goes straight home."""
    finish_first_steps(paula)
    response = client.post("/account/sign-in/", {"username": "paula", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert b"Welcome, Paula" in home.content


def test_wrong_password_and_unknown_user_get_the_same_answer(client: Client, paula: User) -> None:
    wrong = client.post("/account/sign-in/", {"username": "paula", "password": "not her password at all"})
    unknown = client.post("/account/sign-in/", {"username": "nobody", "password": "not her password at all"})
    assert wrong.status_code == unknown.status_code == 400
    assert WRONG_CREDENTIALS.encode() in wrong.content
    assert WRONG_CREDENTIALS.encode() in unknown.content
    # The username typed is kept on the page; the password is not echoed back.
    assert b'value="paula"' in wrong.content
    assert b"not her password at all" not in wrong.content


def test_username_is_matched_without_regard_to_case(client: Client, paula: User) -> None:
    """'PAULA' with a trailing space signs Paula in."""
    finish_first_steps(paula)
    response = client.post("/account/sign-in/", {"username": " PAULA ", "password": PASSWORD})
    assert response.status_code == 302


def test_deactivated_account_gets_the_usual_answer(client: Client, paula: User) -> None:
    """A deactivated account cannot sign in, and the page does not say it exists."""
    paula.is_active = False
    paula.save(update_fields=["is_active"])
    response = client.post("/account/sign-in/", {"username": "paula", "password": PASSWORD})
    assert response.status_code == 400
    assert WRONG_CREDENTIALS.encode() in response.content


def test_empty_fields_say_what_is_missing(client: Client, paula: User) -> None:
    """Submitting an empty form names each missing field; no attempt is counted."""
    response = client.post("/account/sign-in/", {"username": "", "password": ""})
    assert b"Enter your username." in response.content
    assert b"Enter your password." in response.content
    assert not AuditEvent.objects.filter(action="sign_in_failed").exists()


def test_signed_in_patient_opening_sign_in_goes_home(client: Client, paula: User) -> None:
    """Paula, already signed in, is not shown the sign-in form again."""
    finish_first_steps(paula)
    client.post("/account/sign-in/", {"username": "paula", "password": PASSWORD})
    response = client.get("/account/sign-in/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_sign_in_event_names_who_and_how(client: Client, paula: User) -> None:
    """The audit trail says Paula signed in with her password, as the patient she is, from where,
    and with which browser: a code, never the User-Agent text."""
    finish_first_steps(paula)
    client.post(
        "/account/sign-in/",
        {"username": "paula", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.7",
        HTTP_USER_AGENT=(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
        ),
    )
    event = AuditEvent.objects.get(action="sign_in")
    assert event.actor_id == paula.pk
    assert event.patient_id == Patient.objects.get(user=paula).pk
    assert event.client_address == "198.51.100.7"
    assert event.details == {"method": "password", "browser": "chrome-windows"}


def test_whole_journey_is_audited_without_any_secret(
    client: Client, rosa: Patient, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    """Rosa registers, confirms, fails once, signs in, checks her details, accepts the terms,
    times out and signs in and out again: each is in the audit trail, and no row holds a
    password, a typed guess, a link token or her contact details."""
    password = "a silver kettle sings"
    client.post(
        "/account/register/",
        {
            "dod_id": "9900000005",
            "birth_date": "09/14/1975",
            "last_name": "Marsh",
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/account/register/account/",
            {
                "username": "rosa.m",
                "email": "rosa.m@example.com",
                "password": password,
                "password_confirm": password,
            },
        )
    link = last_link()
    client.post(link)
    client.post("/account/sign-in/", {"username": "rosa.m", "password": "my wrong guess 123"})
    SignInThrottle.objects.all().delete()
    client.post("/account/sign-in/", {"username": "rosa.m", "password": password})
    client.post("/account/second-step/", {"choice": "later"})
    client.post(
        "/account/contact/", {"action": "save", "email": "rosa.m@example.com", "mobile_phone": "555 010 4242"}
    )
    terms = current_terms()
    assert terms is not None
    client.post("/account/terms/", {"version": str(terms.pk), "accept": "yes", "decision": "accept"})
    assert client.get("/").status_code == 200
    age_session(client, idle=16 * 60)
    client.get("/")
    client.post("/account/sign-in/", {"username": "rosa.m", "password": password})
    client.post("/account/sign-out/")
    for _ in range(10):
        client.post("/account/sign-in/", {"username": "rosa.m", "password": "my wrong guess 123"})
        SignInThrottle.objects.update(last_failure_at=timezone.now() - timedelta(minutes=1))
    recorded = set(actions())
    assert {
        "registration_identity",
        "registration",
        "registration_confirmed",
        "sign_in_failed",
        "sign_in",
        "contact_changed",
        "contact_verified",
        "terms_accepted",
        "session_timeout",
        "sign_out",
        "account_locked",
    } <= recorded
    text = audit_text()
    token = link.rstrip("/").rsplit("/", 1)[-1]
    for secret in [
        password,
        "my wrong guess",
        token,
        "rosa.m@example.com",
        "555-010-4242",
        "Marsh",
        "1975-09-14",
        "9900000005",
    ]:
        assert secret not in text, secret
