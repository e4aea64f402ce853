"""Confirm it's you: a session alone cannot change how the account is reached or protected.

Paula is a patient who signed in with her password (no authenticator). Dr. Diaz is
staff with an authenticator. Each test lets the proof of their sign-in grow older than
PORTAL_REAUTH_MINUTES (the session itself is still active: someone walked up to an
unlocked computer, or stole the cookie) and then attacks each protected endpoint
straight with a POST, as a thief would: nothing changes until the person proves
themself again on "Confirm it's you".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import HASH_SESSION_KEY
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD, sign_in
from portal.accounts.actions.second_factor import _new_recovery_codes
from portal.accounts.models import SignInThrottle, User
from portal.accounts.tests.helpers import (
    actions,
    audit_text,
    page_text,
    recently_authenticated,
    stale_authentication,
)
from portal.accounts.throttle import username_key
from portal.audit.models import AuditEvent
from portal.clinics.models import Patient
from portal.core.tests.test_settings import _environ, _manage

CONFIRM = "/account/confirm-its-you/"
Capture = Callable[..., Any]


def sent_to_confirm(response: Any, *, back_to: str) -> bool:
    """The answer sends the person to "Confirm it's you", which will bring them to `back_to`."""
    if response.status_code != 302:
        return False
    location = urlsplit(response["Location"])
    return location.path == CONFIRM and parse_qs(location.query).get("next") == [back_to]


def confirm(client: Client, *, password: str = PASSWORD, code: str | None = None, next_url: str = "/") -> Any:
    data = {"password": password, "next": next_url}
    if code is not None:
        data["code"] = code
    return client.post(CONFIRM, data)


def next_code(user: User) -> str:
    """The code the app shows in the next 30 seconds (the current one was used to sign in,
    and a code works once); the portal accepts one step of drift."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{totp(device.bin_key, step=device.step, digits=device.digits, drift=1):06d}"


def last_event(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-id").first()
    assert event is not None, f"no {action} event"
    return event


@pytest.fixture
def paula_stale(signed_in: Callable[[User], Client], paula: User) -> Client:
    client = signed_in(paula)
    stale_authentication(client)
    return client


@pytest.fixture
def diaz_stale(signed_in: Callable[[User], Client], dr_diaz: User) -> Client:
    client = signed_in(dr_diaz)
    stale_authentication(client)
    return client


# --- When the time of the last sign-in is recorded --------------------------------------------


def test_a_password_sign_in_is_recent(signed_in: Callable[[User], Client], paula: User) -> None:
    assert recently_authenticated(signed_in(paula))


def test_a_password_and_code_sign_in_is_recent(signed_in: Callable[[User], Client], dr_diaz: User) -> None:
    assert recently_authenticated(signed_in(dr_diaz))


def test_the_password_step_alone_is_not_a_sign_in(client: Client, dr_diaz: User) -> None:
    client.post("/account/sign-in/", {"username": dr_diaz.username, "password": PASSWORD})
    assert not recently_authenticated(client)


def test_a_session_without_a_recorded_time_is_not_recent(
    signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """A session started before this rule existed has no time: it must confirm."""
    client = signed_in(dr_diaz)
    session = client.session
    del session["portal_authenticated_at"]
    session.save()
    assert sent_to_confirm(client.post("/account/security/recovery-codes/new/"), back_to="/account/security/")


def test_the_window_is_portal_reauth_minutes(
    signed_in: Callable[[User], Client], dr_diaz: User, settings: Any
) -> None:
    client = signed_in(dr_diaz)
    settings.PORTAL_REAUTH_MINUTES = 30
    stale_authentication(client, seconds_over=-60)  # ten minutes ago, under thirty
    assert recently_authenticated(client)
    response = client.post("/account/security/recovery-codes/new/")
    assert response["Location"] == "/account/security/recovery-codes/"


# --- Each protected endpoint, attacked with a stale session -----------------------------------


def test_stale_session_cannot_remove_the_authenticator(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """Paula (a patient may turn it off) has an authenticator; a session alone cannot remove it."""
    TOTPDevice.objects.create(user=paula, name="app", confirmed=True)
    client = signed_in(paula)
    stale_authentication(client)
    response = client.post("/account/security/authenticator/remove/")
    assert sent_to_confirm(response, back_to="/account/security/")
    assert TOTPDevice.objects.filter(user=paula, confirmed=True).exists()
    event = last_event("reauthentication_required")
    assert (event.actor_id, event.outcome) == (paula.pk, AuditEvent.Outcome.DENIED)
    assert event.details == {"page": "accounts:mfa_remove", "method": "POST"}


def test_stale_session_cannot_make_new_recovery_codes(diaz_stale: Client, dr_diaz: User) -> None:
    before = set(StaticToken.objects.filter(device__user=dr_diaz).values_list("token", flat=True))
    response = diaz_stale.post("/account/security/recovery-codes/new/")
    assert sent_to_confirm(response, back_to="/account/security/")
    assert set(StaticToken.objects.filter(device__user=dr_diaz).values_list("token", flat=True)) == before
    assert "recovery_codes_replaced" not in actions()


def test_stale_session_cannot_add_an_authenticator(paula_stale: Client, paula: User) -> None:
    """A thief's own phone as Paula's second step would shut Paula out: not from a session alone."""
    assert sent_to_confirm(
        paula_stale.get("/account/security/authenticator/"), back_to="/account/security/authenticator/"
    )
    assert not TOTPDevice.objects.filter(user=paula).exists()  # no key was even shown
    posted = paula_stale.post("/account/security/authenticator/", {"code": "123456"})
    assert sent_to_confirm(posted, back_to="/account/security/authenticator/")
    assert not TOTPDevice.objects.filter(user=paula, confirmed=True).exists()


def test_stale_session_cannot_replace_the_authenticator(diaz_stale: Client, dr_diaz: User) -> None:
    device = TOTPDevice.objects.get(user=dr_diaz, confirmed=True)
    assert sent_to_confirm(
        diaz_stale.get("/account/security/authenticator/"), back_to="/account/security/authenticator/"
    )
    diaz_stale.post("/account/security/authenticator/", {"code": "123456"})
    assert list(TOTPDevice.objects.filter(user=dr_diaz).values_list("pk", flat=True)) == [device.pk]


def test_stale_session_cannot_change_the_email_or_phone(
    paula_stale: Client, paula: User, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = paula_stale.post(
            "/account/contact/",
            {"action": "save", "email": "thief@example.net", "mobile_phone": "555-666-7777"},
        )
    assert sent_to_confirm(response, back_to="/account/contact/?edit=1")
    patient = Patient.objects.get(user=paula)
    assert (patient.email, patient.mobile_phone) == ("paula@example.com", "555-010-0000")
    assert mail.outbox == []
    assert not paula.email_links.exists()
    assert "thief" not in audit_text()


def test_stale_session_cannot_open_the_contact_form(paula_stale: Client) -> None:
    assert sent_to_confirm(paula_stale.get("/account/contact/?edit=1"), back_to="/account/contact/?edit=1")


def test_reading_and_confirming_contact_details_needs_no_new_proof(paula_stale: Client, paula: User) -> None:
    """Looking at them, and saying they are right, change nothing: no need to ask again."""
    assert paula_stale.get("/account/contact/").status_code == 200
    assert paula_stale.post("/account/contact/", {"action": "confirm"}).status_code == 302
    assert "contact_verified" in actions()


def test_first_sign_in_steps_count_as_recent(client: Client, paula: User) -> None:
    """Right after signing in, a patient fixing her contact step is not asked again."""
    paula.mfa_offered_at = timezone.now()
    paula.save(update_fields=["mfa_offered_at"])
    sign_in(client, paula)
    assert client.get("/")["Location"] == "/account/contact/"
    saved = client.post(
        "/account/contact/", {"action": "save", "email": "paula@example.com", "mobile_phone": "555-010-9999"}
    )
    assert saved["Location"] == "/account/terms/"
    assert Patient.objects.get(user=paula).mobile_phone == "555-010-9999"


# --- Confirm it's you ---------------------------------------------------------------------------


def test_confirming_brings_back_what_she_typed(paula_stale: Client, paula: User) -> None:
    """Paula typed her new details, was asked to confirm; after, the form holds what she typed."""
    sent = paula_stale.post(
        "/account/contact/",
        {"action": "save", "email": "paula.new@example.com", "mobile_phone": "555-010-1234"},
    )
    page = page_text(paula_stale.get(sent["Location"]))
    assert "Confirm it's you" in page
    assert 'name="code"' not in page  # no authenticator: the password alone
    back = confirm(paula_stale, next_url="/account/contact/?edit=1")
    assert back["Location"] == "/account/contact/?edit=1"
    form = page_text(paula_stale.get(back["Location"]))
    assert 'value="paula.new@example.com"' in form and 'value="555-010-1234"' in form
    assert Patient.objects.get(user=paula).email == "paula@example.com"  # nothing saved until she saves
    assert last_event("reauthenticated").details == {"method": "password"}
    assert recently_authenticated(paula_stale)


def test_after_confirming_the_change_goes_through(diaz_stale: Client, dr_diaz: User) -> None:
    assert (
        confirm(diaz_stale, code=next_code(dr_diaz), next_url="/account/security/")["Location"]
        == "/account/security/"
    )
    assert last_event("reauthenticated").details == {"method": "password+totp"}
    response = diaz_stale.post("/account/security/recovery-codes/new/")
    assert response["Location"] == "/account/security/recovery-codes/"


def test_a_recovery_code_confirms_too(diaz_stale: Client, dr_diaz: User) -> None:
    codes = _new_recovery_codes(dr_diaz)
    assert confirm(diaz_stale, code=codes[0])["Location"] == "/"
    assert last_event("reauthenticated").details == {"method": "password+recovery_code"}
    assert not StaticToken.objects.filter(device__user=dr_diaz, token=codes[0]).exists()


def test_a_wrong_password_is_refused_counted_and_audited(paula_stale: Client, paula: User) -> None:
    response = confirm(paula_stale, password="not my password at all", next_url="/account/contact/?edit=1")
    assert response.status_code == 400
    assert "The password or code is not right." in page_text(response)
    assert SignInThrottle.objects.get(key=username_key("paula")).consecutive_failures == 1
    event = last_event("reauthentication_failed")
    assert (event.actor_id, event.outcome, event.details) == (
        paula.pk,
        AuditEvent.Outcome.FAILURE,
        {"factor": "password"},
    )
    assert not recently_authenticated(paula_stale)
    assert sent_to_confirm(paula_stale.get("/account/contact/?edit=1"), back_to="/account/contact/?edit=1")
    assert "not my password" not in audit_text()


def test_right_password_wrong_code_gets_the_same_answer(diaz_stale: Client, dr_diaz: User) -> None:
    """A thief with the session and the password but not the phone learns nothing new."""
    wrong_password = confirm(diaz_stale, password="not the password", code=next_code(dr_diaz))
    SignInThrottle.objects.update(last_failure_at=timezone.now() - timedelta(minutes=1))
    wrong_code = confirm(diaz_stale, code="000000")
    assert wrong_password.status_code == wrong_code.status_code == 400
    assert "The password or code is not right." in page_text(wrong_code)
    assert 'value="000000"' not in page_text(wrong_code)
    assert SignInThrottle.objects.get(key=username_key("dr.diaz")).consecutive_failures == 2
    assert last_event("reauthentication_failed").details == {"factor": "second"}
    assert not recently_authenticated(diaz_stale)


def test_a_code_is_asked_of_whoever_has_an_authenticator(diaz_stale: Client) -> None:
    page = page_text(diaz_stale.get(CONFIRM))
    assert 'name="code"' in page and 'autocomplete="one-time-code"' in page
    assert 'autocomplete="current-password"' in page
    missing = confirm(diaz_stale)  # no code at all
    assert missing.status_code == 400
    assert "Enter the 6-digit code from your app, or a recovery code." in page_text(missing)


def test_the_throttle_slows_the_page_down(paula_stale: Client) -> None:
    """From the fourth failure in a row each attempt must wait, even with the right password."""
    for _ in range(4):
        confirm(paula_stale, password="a wrong guess each time")
    held = confirm(paula_stale)
    assert held.status_code == 400
    assert "Too many failed attempts. Wait" in page_text(held)
    assert not recently_authenticated(paula_stale)
    assert last_event("reauthentication_held").outcome == AuditEvent.Outcome.DENIED


def test_failures_here_and_at_sign_in_add_up_and_lock(
    paula_stale: Client, paula: User, settings: Any
) -> None:
    """Guesses made from inside a session count with guesses at the sign-in page; the one that
    locks the account also ends the session."""
    settings.PORTAL_LOCK_AFTER_FAILURES = 3
    settings.PORTAL_SLOWDOWN_AFTER_FAILURES = 10
    Client().post("/account/sign-in/", {"username": "paula", "password": "guess one at sign in"})
    confirm(paula_stale, password="guess two in the session")
    locked = confirm(paula_stale, password="guess three in the session")
    assert locked["Location"] == "/account/sign-in/"
    assert "signed out, and this account is locked for" in page_text(paula_stale.get("/account/sign-in/"))
    assert paula_stale.get("/account/security/")["Location"].startswith("/account/sign-in/")
    assert {"account_locked", "session_locked"} <= set(actions())
    assert "locked until" in page_text(
        Client().post("/account/sign-in/", {"username": "paula", "password": PASSWORD})
    )


def test_a_success_clears_the_count(paula_stale: Client) -> None:
    confirm(paula_stale, password="one wrong guess here")
    assert confirm(paula_stale).status_code == 302
    assert not SignInThrottle.objects.filter(key=username_key("paula")).exists()


def test_next_only_goes_to_this_site(paula_stale: Client) -> None:
    assert confirm(paula_stale, next_url="https://evil.example/steal")["Location"] == "/"
    assert confirm(paula_stale, next_url="//evil.example/")["Location"] == "/"


def test_the_page_needs_a_session(client: Client) -> None:
    assert client.get(CONFIRM)["Location"].startswith("/account/sign-in/")
    assert client.post(CONFIRM, {"password": PASSWORD})["Location"].startswith("/account/sign-in/")


def test_an_account_without_a_password_is_offered_the_card(paula_stale: Client, paula: User) -> None:
    paula.set_unusable_password()
    paula.save(update_fields=["password"])
    session = paula_stale.session
    session[HASH_SESSION_KEY] = paula.get_session_auth_hash()
    session.save()
    page = page_text(paula_stale.get(CONFIRM + "?next=/account/card/"))
    assert "Confirm with your CAC/PIV" in page and 'name="password"' not in page
    assert "/account/card/confirm/?next=/account/card/" in page
    assert confirm(paula_stale, password="").status_code == 200  # nothing to check a password against


def test_reauth_minutes_must_be_a_positive_number(tmp_path: Path) -> None:
    result = _manage(_environ(tmp_path, PORTAL_ENV="test", PORTAL_REAUTH_MINUTES="0"), "check")
    assert result.returncode != 0
    assert "PORTAL_REAUTH_MINUTES=0: must be at least 1" in result.stderr
