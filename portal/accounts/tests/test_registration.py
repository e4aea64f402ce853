"""Create New Account: Rosa Marsh has a record but no account.

She proves who she is (DoD ID, date of birth, last name), chooses a username,
password and e-mail, and confirms the e-mail by a link that works once, for 24
hours. Every mismatch gets one and the same answer, so the page never tells
whether a DoD ID exists or already has an account. Paula already has one; Dr.
Diaz is staff and has no patient record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from portal.accounts.models import EmailLink, SignInThrottle, User
from portal.accounts.tests.helpers import actions, audit_text, last_link, page_text
from portal.accounts.views.registration import NO_MATCH
from portal.audit.models import AuditEvent
from portal.clinics.models import Patient

ROSA = {
    "dod_id": "9900000005",
    "birth_date": "09/14/1975",
    "last_name": "Marsh",
}
NEW_PASSWORD = "seven hills under snow"
ACCOUNT = {
    "username": "rosa.marsh",
    "email": "rosa.new@example.com",
    "password": NEW_PASSWORD,
    "password_confirm": NEW_PASSWORD,
}

Capture = Callable[..., Any]


def prove_identity(client: Client, **changes: str) -> Any:
    return client.post("/account/register/", {**ROSA, **changes})


def register(client: Client, capture: Capture, **changes: str) -> Any:
    response = prove_identity(client)
    assert response["Location"] == "/account/register/account/", page_text(response)
    with capture(execute=True):
        return client.post("/account/register/account/", {**ACCOUNT, **changes})


def alert(page: Any) -> str:
    found = re.search(r'usa-alert__text">([^<]*)<', page_text(page))
    return found.group(1) if found else ""


def test_rosa_registers_confirms_and_signs_in(
    client: Client, rosa: Patient, django_capture_on_commit_callbacks: Capture
) -> None:
    """Rosa proves who she is, chooses her details, follows the e-mailed link, then signs in."""
    done = register(client, django_capture_on_commit_callbacks)
    assert done["Location"] == "/account/register/check-your-email/"
    assert "rosa.new@example.com" in page_text(client.get(done["Location"]))
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["rosa.new@example.com"]
    assert "24 hours" in str(message.body)
    link = last_link("rosa.new@example.com")
    assert link.startswith("/account/confirm/")
    # Following the link with GET (a mail scanner) does not use it.
    assert client.get(link).status_code == 200
    confirmed = client.post(link)
    assert confirmed["Location"] == "/account/sign-in/"
    assert "Your e-mail address is confirmed" in page_text(client.get("/account/sign-in/"))
    rosa.refresh_from_db()
    assert rosa.user is not None
    assert rosa.user.username == "rosa.marsh"
    assert rosa.user.is_patient
    assert rosa.user.email_confirmed_at is not None
    assert rosa.email == "rosa.new@example.com"
    signed = client.post("/account/sign-in/", {"username": "rosa.marsh", "password": NEW_PASSWORD})
    assert signed.status_code == 302
    assert {"registration_identity", "registration", "registration_confirmed", "sign_in"} <= set(actions())
    assert NEW_PASSWORD not in audit_text()


def test_confirmation_link_works_once(
    client: Client, rosa: Patient, django_capture_on_commit_callbacks: Capture
) -> None:
    """The second use of the link says it was already used."""
    register(client, django_capture_on_commit_callbacks)
    link = last_link()
    client.post(link)
    again = client.post(link)
    assert again.status_code == 410
    assert "This link was already used. Each link works once." in page_text(again)


def test_confirmation_link_expires_after_24_hours(
    client: Client, rosa: Patient, django_capture_on_commit_callbacks: Capture
) -> None:
    """A day after registering, the link no longer works, and the page says it expired."""
    register(client, django_capture_on_commit_callbacks)
    link_row = EmailLink.objects.get(purpose=EmailLink.Purpose.REGISTRATION)
    assert abs(link_row.expires_at - link_row.created_at - timedelta(hours=24)) < timedelta(seconds=1)
    EmailLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.post(last_link())
    assert expired.status_code == 410
    assert "This link has expired." in page_text(expired)
    assert User.objects.get(username="rosa.marsh").email_confirmed_at is None


def test_a_made_up_link_is_refused(client: Client, rosa: Patient) -> None:
    """A link that was never sent does nothing."""
    response = client.post("/account/confirm/not-a-real-token/")
    assert response.status_code == 410
    assert "This link is not valid." in page_text(response)


@pytest.mark.parametrize(
    "changes",
    [
        {"dod_id": "9900000006"},  # a DoD ID that matches no record
        {"dod_id": "9900000001"},  # Paula's DoD ID, with Rosa's other details
        {"birth_date": "09/15/1975"},
        {"birth_date": "09/14/1976"},
        {"last_name": "Marshall"},
        {
            "dod_id": "9900000001",
            "birth_date": "04/28/1986",
            "last_name": "Quill",
        },
    ],
    ids=["unknown-id", "other-patients-id", "wrong-day", "wrong-year", "wrong-name", "already-has-account"],
)
def test_every_mismatch_gets_the_same_answer(
    client: Client, rosa: Patient, paula: User, changes: dict[str, str]
) -> None:
    """Whatever is wrong, and whether or not the person already has an account, the page says the same."""
    response = prove_identity(client, **changes)
    assert response.status_code == 400
    assert alert(response) == escape(NO_MATCH)
    assert "We could not find a match" in page_text(response)
    # What she typed stays on the page.
    assert f'value="{changes.get("last_name", "Marsh")}"' in page_text(response)
    assert not client.session.get("portal_registration_patient")
    outcomes = AuditEvent.objects.filter(action="registration_identity").values_list("outcome", flat=True)
    assert list(outcomes) == [AuditEvent.Outcome.FAILURE]


def test_last_name_is_matched_without_regard_to_case_or_spacing(client: Client, rosa: Patient) -> None:
    """'MARSH ' typed in capitals with a trailing space still matches Marsh."""
    assert prove_identity(client, last_name=" MARSH ")["Location"] == "/account/register/account/"


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"dod_id": "99000005"}, "A DoD ID number is 10 digits"),
        ({"birth_date": "13/14/1975"}, "The month of your date of birth must be from 01 to 12"),
        ({"birth_date": "02/30/1975"}, "February 1975 has 28 days: correct the day of your date of birth."),
        ({"birth_date": "1975-09-14"}, "Enter your date of birth as month/day/year with a 4-digit year"),
        ({"birth_date": "9/14/75"}, "Enter your date of birth as month/day/year with a 4-digit year"),
        ({"birth_date": ""}, "Enter your date of birth, for example: 04/28/1986."),
        ({"birth_date": "09/14/2999"}, "Your date of birth cannot be in the future"),
        ({"last_name": ""}, "Enter your last name."),
    ],
)
def test_badly_typed_details_get_a_specific_message(
    client: Client, rosa: Patient, changes: dict[str, str], text: str
) -> None:
    """A DoD ID or date typed wrongly gets a message that says what to fix, before any match."""
    response = prove_identity(client, **changes)
    assert response.status_code == 200
    assert escape(text) in page_text(response) or text in page_text(response)
    assert "registration_identity" not in actions()


def test_account_step_needs_the_identity_step_first(client: Client, rosa: Patient) -> None:
    """Skipping straight to choosing a username sends Rosa back to prove who she is."""
    response = client.post("/account/register/account/", ACCOUNT)
    assert response["Location"] == "/account/register/"
    assert not User.objects.filter(username="rosa.marsh").exists()


@pytest.mark.parametrize(
    ("changes", "field_text"),
    [
        ({"username": "paula"}, "That username is taken. Choose another."),
        ({"username": "PAULA"}, "That username is taken. Choose another."),
        ({"username": "rosa marsh"}, "(no spaces)"),
        (
            {"password": "too short", "password_confirm": "too short"},
            "Use at least 12 characters; this password has 9.",
        ),
        (
            {"username": "rosamarsh1975", "password": "RosaMarsh1975", "password_confirm": "RosaMarsh1975"},
            "Your password cannot be your username.",
        ),
        (
            {"password": "correct horse battery staple", "password_confirm": "correct horse battery staple"},
            "This password is too common",
        ),
        ({"password_confirm": "seven hills under snoW"}, "The two passwords are not the same."),
        ({"email": "rosa@"}, "Enter an e-mail address like name@example.com."),
    ],
)
@pytest.mark.usefixtures("paula")
def test_account_problems_are_named_and_what_she_typed_is_kept(
    client: Client,
    rosa: Patient,
    django_capture_on_commit_callbacks: Capture,
    changes: dict[str, str],
    field_text: str,
) -> None:
    """Each problem with the chosen details has its own message; the username and e-mail stay filled in."""
    response = register(client, django_capture_on_commit_callbacks, **changes)
    assert response.status_code == 400
    page = page_text(response)
    assert escape(field_text) in page
    typed = {**ACCOUNT, **changes}
    assert f'value="{escape(typed["username"])}"' in page
    assert f'value="{escape(typed["email"])}"' in page
    assert not mail.outbox
    assert Patient.objects.get(pk=rosa.pk).user is None


def test_unconfirmed_account_is_told_to_confirm_and_can_resend(
    client: Client, rosa: Patient, django_capture_on_commit_callbacks: Capture
) -> None:
    """Signing in before confirming says to confirm first; a new link can be sent, and the old one stops working."""
    register(client, django_capture_on_commit_callbacks)
    first_link = last_link()
    page = client.post("/account/sign-in/", {"username": "rosa.marsh", "password": NEW_PASSWORD})
    assert page.status_code == 400
    assert "Confirm your e-mail address first" in page_text(page)
    assert "Send the confirmation link again" in page_text(page)
    assert client.get("/").status_code == 302  # not signed in
    with django_capture_on_commit_callbacks(execute=True):
        resent = client.post("/account/register/resend/")
    assert resent["Location"] == "/account/sign-in/"
    assert len(mail.outbox) == 2
    second_link = last_link()
    assert second_link != first_link
    assert client.post(first_link).status_code == 410
    assert client.post(second_link)["Location"] == "/account/sign-in/"
    assert (
        client.post("/account/sign-in/", {"username": "rosa.marsh", "password": NEW_PASSWORD}).status_code
        == 302
    )


def test_unconfirmed_account_with_wrong_password_gets_the_usual_answer(
    client: Client, rosa: Patient, django_capture_on_commit_callbacks: Capture
) -> None:
    """Only the right password learns that the account waits for confirmation."""
    register(client, django_capture_on_commit_callbacks)
    page = client.post("/account/sign-in/", {"username": "rosa.marsh", "password": "not the password at all"})
    assert "Confirm your e-mail" not in page_text(page)
    assert "The username or password is not right." in page_text(page)


def test_resend_without_a_pending_sign_in_sends_nothing(
    client: Client, paula: User, django_capture_on_commit_callbacks: Capture
) -> None:
    """The resend button cannot be used to send e-mail to someone else's account."""
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/account/register/resend/")
    assert not mail.outbox


def test_second_registration_while_the_first_link_is_live_gets_the_generic_answer(
    client: Client, rosa: Patient, django_capture_on_commit_callbacks: Capture
) -> None:
    """While Rosa's link still works, nobody (Rosa included) can register her record again."""
    register(client, django_capture_on_commit_callbacks)
    again = prove_identity(Client())
    assert again.status_code == 400
    assert alert(again) == escape(NO_MATCH)


def test_abandoned_registration_can_be_redone_after_its_link_expires(
    client: Client, rosa: Patient, django_capture_on_commit_callbacks: Capture
) -> None:
    """Rosa never confirmed; once her link has expired she can start over, even with the same username."""
    register(client, django_capture_on_commit_callbacks)
    abandoned = User.objects.get(username="rosa.marsh")
    EmailLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    SignInThrottle.objects.all().delete()
    fresh = Client()
    done = register(fresh, django_capture_on_commit_callbacks, email="rosa.other@example.com")
    assert done["Location"] == "/account/register/check-your-email/"
    assert not User.objects.filter(pk=abandoned.pk).exists()
    fresh.post(last_link("rosa.other@example.com"))
    rosa.refresh_from_db()
    assert rosa.user is not None
    assert rosa.user.username == "rosa.marsh"
    assert rosa.email == "rosa.other@example.com"


def test_confirmed_account_cannot_be_registered_again_even_after_links_expire(
    client: Client, rosa: Patient, django_capture_on_commit_callbacks: Capture
) -> None:
    """Once confirmed, Rosa's record is taken for good: a second registration gets the generic answer."""
    register(client, django_capture_on_commit_callbacks)
    client.post(last_link())
    EmailLink.objects.update(expires_at=timezone.now() - timedelta(days=30))
    again = prove_identity(Client())
    assert alert(again) == escape(NO_MATCH)


def test_staff_cannot_register_a_patient_account(client: Client, dr_diaz: User) -> None:
    """Dr. Diaz has no patient record, so no DoD ID, birth date and name of his match one."""
    response = prove_identity(client, dod_id="9900000009", last_name="Diaz")
    assert alert(response) == escape(NO_MATCH)
    assert not Patient.objects.filter(user=dr_diaz).exists()


def test_repeated_mismatches_from_one_address_are_slowed(client: Client, rosa: Patient) -> None:
    """Someone trying DoD IDs one after another is slowed down."""
    for number in range(4):
        response = prove_identity(client, dod_id=f"99000001{number:02d}")
    assert response.status_code == 400
    assert "Too many attempts to match a record" in page_text(response)
    # Even the right details must wait.
    assert "Too many attempts" in page_text(prove_identity(client))


def test_sign_in_attempts_cannot_block_registration_from_an_address(client: Client, rosa: Patient) -> None:
    """Someone typing a made-up username that looks like the registration counter's name,
    over and over on the sign-in page, does not stop Rosa registering from her address."""
    for _ in range(12):
        client.post("/account/sign-in/", {"username": "register:127.0.0.1", "password": "whatever it is"})
        SignInThrottle.objects.update(last_failure_at=timezone.now() - timedelta(minutes=1))
    assert prove_identity(Client())["Location"] == "/account/register/account/"
