"""The help desk's tasks on a person's account, in the operator console, each with a reason on
the record.

Alex Adams is the administrator at the help desk. Paula (a patient) is locked out after
someone guessed at her password from another address: Alex unlocks her, and she signs in.
Dr. Diaz lost her phone: Alex resets her second step, her open session ends, and her next
sign-in asks her to set up a new authenticator. Rosa registered and never got her
confirmation e-mail: Alex sends it again. Alex sends Dr. Diaz a password-reset link, and reads
Paula's sign-in history. Every task refuses in words when it does not apply, asks the reason
first, and writes an audit event naming Alex, the reason and the account. Dr. Diaz and Paula
cannot open any of these pages.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD, finish_first_steps, make_staff, sign_in
from portal.accounts import actions as account_actions
from portal.accounts import selectors, throttle
from portal.accounts.actions.help_desk import check_reset_second_step
from portal.accounts.models import User
from portal.accounts.tests.helpers import last_link
from portal.audit.models import AuditEvent
from portal.clinics.models import Patient
from portal.core.acting import Actor, Refused

ATTACKER = "203.0.113.66"
PAULAS_HOME = "198.51.100.7"


@pytest.fixture
def console(admin_adams: User, signed_in: Callable[[User], Client]) -> Client:
    return signed_in(admin_adams)


def _url(account: User, task: str = "") -> str:
    return f"/operator/accounts/user/{account.pk}/help-desk/{task}"


def _text(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def _lock_out(username: str) -> None:
    """Ten wrong passwords from another address, as the sign-in page counts them."""
    guesser = Client(REMOTE_ADDR=ATTACKER)
    with override_settings(PORTAL_SLOWDOWN_AFTER_FAILURES=100):
        for _ in range(10):
            guesser.post("/account/sign-in/", {"username": username, "password": "a wrong guess"})


def _paula_signs_in() -> int:
    response = Client(REMOTE_ADDR=PAULAS_HOME).post(
        "/account/sign-in/", {"username": "paula", "password": PASSWORD}
    )
    return response.status_code


# --- Unlock ---------------------------------------------------------------------------------------


def test_alex_unlocks_paula_and_she_signs_in(console: Client, paula: User, admin_adams: User) -> None:
    finish_first_steps(paula)
    _lock_out("paula")
    assert _paula_signs_in() == 400  # locked
    page = _text(console.get(_url(paula)))
    assert "Locked after too many failed attempts, until" in page
    assert f'href="{_url(paula, "unlock/")}"' in page

    response = console.post(_url(paula, "unlock/"), {"reason": "person_asked"})
    assert response.status_code == 302 and response["Location"] == _url(paula)
    assert "Unlocked: the person can sign in again now." in _text(console.get(response["Location"]))
    assert _paula_signs_in() == 302
    [event] = _events("accounts.account_unlocked")
    assert (event.actor_id, event.object_type, event.object_id) == (admin_adams.pk, "user", str(paula.pk))
    assert event.patient_id == paula.patient.pk
    assert event.details == {"reason": "person_asked", "was_locked": True}


def test_unlocking_asks_the_reason_first_and_changes_nothing_without_it(console: Client, paula: User) -> None:
    _lock_out("paula")
    response = console.post(_url(paula, "unlock/"), {"reason": ""})
    assert response.status_code == 400
    assert "Choose the reason: it goes in the audit log with what you do." in _text(response)
    assert 'aria-invalid="true"' in response.content.decode()
    assert selectors.sign_in_hold_of(paula) is not None
    assert _events("accounts.account_unlocked") == []


def test_an_account_that_is_not_locked_has_nothing_to_unlock(console: Client, paula: User) -> None:
    assert "Unlock sign-in: not needed, sign-in is not locked." in _text(console.get(_url(paula)))
    response = console.post(_url(paula, "unlock/"), {"reason": "person_asked"})
    assert response.status_code == 400
    assert "not locked or slowed down: there is nothing to unlock" in _text(response)
    assert _events("accounts.account_unlocked") == []


def test_unlocking_leaves_the_guessers_address_locked(console: Client, paula: User) -> None:
    """The lock on an address is not one person's: the help desk lifts the username's only."""
    _lock_out("paula")
    console.post(_url(paula, "unlock/"), {"reason": "security"})
    assert throttle.current_hold("paula", ATTACKER) is not None
    assert throttle.current_hold("paula", PAULAS_HOME) is None


# --- Second step --------------------------------------------------------------------------------


def test_alex_resets_dr_diazs_second_step_and_she_sets_up_a_new_one(
    console: Client, dr_diaz: User, admin_adams: User
) -> None:
    finish_first_steps(dr_diaz)
    her_session = Client()
    sign_in(her_session, dr_diaz)
    assert her_session.get("/staff/").status_code == 200

    response = console.post(_url(dr_diaz, "reset-second-step/"), {"reason": "person_asked"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=dr_diaz).exists()
    assert not StaticDevice.objects.filter(user=dr_diaz).exists()
    assert her_session.get("/staff/").status_code == 302  # her open session ended
    [event] = _events("accounts.second_step_reset")
    assert (event.actor_id, event.object_id, event.details) == (
        admin_adams.pk,
        str(dr_diaz.pk),
        {"reason": "person_asked"},
    )
    assert event.patient_id is None  # a staff member's account

    response = Client().post("/account/sign-in/", {"username": "dr.diaz", "password": PASSWORD})
    assert response["Location"] == "/account/security/authenticator/"


def test_a_patient_whose_second_step_was_reset_must_set_one_up_again(
    console: Client, paula: User, signed_in: Callable[[User], Client]
) -> None:
    """Patients may go without a second step; after a reset (a lost phone) they may not, until
    they have set up a new one."""
    finish_first_steps(paula)
    TOTPDevice.objects.create(user=paula, name="app", confirmed=True)
    console.post(_url(paula, "reset-second-step/"), {"reason": "person_asked"})
    paula.refresh_from_db()
    assert paula.second_step_reset_at is not None
    assert selectors.second_factor_required(paula)
    response = Client().post("/account/sign-in/", {"username": "paula", "password": PASSWORD})
    assert response["Location"] == "/account/security/authenticator/"

    device = account_actions.unconfirmed_totp_device(paula, None)
    assert account_actions.do_confirm_totp(by=Actor(paula), device_id=device.pk, code=totp_of(device))
    paula.refresh_from_db()
    assert paula.second_step_reset_at is None
    assert not selectors.second_factor_required(paula)


def totp_of(device: TOTPDevice) -> str:
    from django_otp.oath import totp

    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


def test_there_is_no_second_step_to_reset_on_an_account_without_one(console: Client, paula: User) -> None:
    assert "Reset the second step: there is no authenticator app to reset." in _text(console.get(_url(paula)))
    response = console.post(_url(paula, "reset-second-step/"), {"reason": "person_asked"})
    assert "This account has no authenticator app to reset." in _text(response)
    assert _events("accounts.second_step_reset") == []


def test_alex_cannot_reset_his_own_second_step_here(admin_adams: User) -> None:
    with pytest.raises(Refused, match="your own account"):
        check_reset_second_step(by=Actor(admin_adams), account=admin_adams, reason="security")
    assert TOTPDevice.objects.filter(user=admin_adams).exists()


# --- Links --------------------------------------------------------------------------------------


def _register_rosa(rosa: Patient) -> User:
    return account_actions.do_create_patient_account(
        patient_id=rosa.pk,
        username="rosa",
        email="rosa.new@example.com",
        password="a long and quiet meadow too",
        client_address=None,
    )


def test_alex_sends_rosa_her_confirmation_link_again(
    console: Client, rosa: Patient, admin_adams: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        account = _register_rosa(rosa)
    first = last_link("rosa.new@example.com")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(_url(account, "resend-confirmation/"), {"reason": "email_missing"})
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["rosa.new@example.com"]
    second = last_link("rosa.new@example.com")
    assert second != first and second.startswith("/account/confirm/")
    assert Client().get(first).status_code == 410  # the earlier link no longer works
    assert Client().post(second).status_code == 302
    account.refresh_from_db()
    assert account.email_confirmed_at is not None
    [event] = _events("accounts.confirmation_resent")
    assert (event.actor_id, event.patient_id, event.details) == (
        admin_adams.pk,
        rosa.pk,
        {"reason": "email_missing"},
    )


def test_a_confirmed_account_needs_no_confirmation_link(console: Client, paula: User) -> None:
    response = console.post(_url(paula, "resend-confirmation/"), {"reason": "email_missing"})
    assert "This account's e-mail address is confirmed already." in _text(response)
    assert mail.outbox == []


def test_an_account_made_by_an_administrator_has_no_confirmation_link(
    console: Client, world: dict[str, Any]
) -> None:
    staff = make_staff(username="clerk.cole", first="Cal", last="Cole", role="clerk", teams=[])
    staff.email_confirmed_at = None
    staff.save(update_fields=["email_confirmed_at"])
    response = console.post(_url(staff, "resend-confirmation/"), {"reason": "email_missing"})
    assert "was not made with Create New Account" in _text(response)


def test_links_to_one_account_are_capped_per_hour(console: Client, rosa: Patient) -> None:
    account = _register_rosa(rosa)
    for _ in range(4):
        assert (
            console.post(_url(account, "resend-confirmation/"), {"reason": "email_missing"}).status_code
            == 302
        )
    response = console.post(_url(account, "resend-confirmation/"), {"reason": "email_missing"})
    assert "5 links went to this account in the last hour" in _text(response)


def test_alex_sends_dr_diaz_a_password_reset_link(
    console: Client, dr_diaz: User, admin_adams: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(_url(dr_diaz, "send-password-reset/"), {"reason": "person_asked"})
    assert response.status_code == 302
    path = last_link("dr.diaz@staff.example.mil")
    assert path.startswith("/account/password-reset/")
    assert Client().get(path).status_code == 200
    [event] = _events("accounts.reset_link_sent")
    assert event.actor_id == admin_adams.pk
    assert event.details == {"reason": "person_asked", "to_previous_address": False}


def test_no_reset_link_for_a_switched_off_account_or_ones_own(
    console: Client, dr_diaz: User, admin_adams: User
) -> None:
    dr_diaz.is_active = False
    dr_diaz.save(update_fields=["is_active"])
    assert "This account is switched off" in _text(
        console.post(_url(dr_diaz, "send-password-reset/"), {"reason": "person_asked"})
    )
    assert "This is your own account" in _text(
        console.post(_url(admin_adams, "send-password-reset/"), {"reason": "person_asked"})
    )
    assert mail.outbox == [] and _events("accounts.reset_link_sent") == []


# --- Sign-in history ----------------------------------------------------------------------------


def test_alex_reads_paulas_sign_in_history(console: Client, paula: User, admin_adams: User) -> None:
    finish_first_steps(paula)
    Client(REMOTE_ADDR=ATTACKER).post("/account/sign-in/", {"username": "paula", "password": "a wrong guess"})
    assert _paula_signs_in() == 302

    asked = console.get(_url(paula, "sign-ins/"))
    assert asked.status_code == 200 and "Reason" in _text(asked)
    assert _events("accounts.sign_ins_read") == []  # nothing read before a reason is given

    page = _text(console.get(_url(paula, "sign-ins/"), {"reason": "person_asked"}))
    rows = re.findall(
        r"<tr><th scope=\"row\"[^>]*>[^<]+</th>"
        r"<td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td></tr>",
        page,
    )
    assert rows == [
        ("Signed in", "Password", "A browser we do not recognize", PAULAS_HOME),
        ("Refused: wrong password", "-", "-", ATTACKER),
    ]
    [event] = _events("accounts.sign_ins_read")
    assert (event.actor_id, event.patient_id, event.details) == (
        admin_adams.pk,
        paula.patient.pk,
        {"reason": "person_asked"},
    )


def test_sign_ins_of_reads_the_audit_log_newest_first_within_the_limit(paula: User, eve: User) -> None:
    finish_first_steps(paula)
    for _ in range(3):
        _paula_signs_in()
    Client().post("/account/sign-in/", {"username": "eve", "password": PASSWORD})
    history = selectors.sign_ins_of(paula, limit=2)
    assert len(history) == 2 and all(row.succeeded and row.what == "Signed in" for row in history)
    assert history[0].at >= history[1].at
    assert len(selectors.sign_ins_of(paula, limit=10)) == 3  # Eve's are not Paula's


@pytest.mark.parametrize("count", [3, 30])
def test_the_history_page_costs_a_fixed_number_of_queries(console: Client, paula: User, count: int) -> None:
    finish_first_steps(paula)
    for _ in range(count):
        _paula_signs_in()
    console.get(_url(paula, "sign-ins/"), {"reason": "person_asked"})  # warm
    with CaptureQueriesContext(connection) as queries:
        console.get(_url(paula, "sign-ins/"), {"reason": "person_asked"})
    assert len(queries) == HISTORY_QUERIES - 2 + audit_writes()


HISTORY_QUERIES = 8  # counted on SQLite, where an audit event costs two statements


def audit_writes() -> int:
    return 1 if connection.vendor == "postgresql" else 2


# --- Who may --------------------------------------------------------------------------------------

TASKS = ["", "unlock/", "reset-second-step/", "resend-confirmation/", "send-password-reset/", "sign-ins/"]


@pytest.mark.parametrize("task", TASKS)
def test_only_the_console_opens_the_help_desk(
    task: str, signed_in: Callable[[User], Client], dr_diaz: User, paula: User, eve: User
) -> None:
    """A physician and a patient are refused every page and every POST about Eve's account;
    nothing is done."""
    _lock_out("eve")
    for who in (dr_diaz, paula):
        client = signed_in(who)
        for response in (
            client.get(_url(eve, task)),
            client.post(_url(eve, task), {"reason": "person_asked"}),
        ):
            assert response.status_code == 302 and response["Location"].startswith("/operator/login/")
        client.post("/account/sign-out/")
    assert selectors.sign_in_hold_of(eve) is not None
    assert not AuditEvent.objects.filter(action__startswith="accounts.").exists()
    assert mail.outbox == []


@pytest.mark.parametrize("task", TASKS)
def test_an_account_that_does_not_exist_is_not_found(console: Client, task: str) -> None:
    assert console.get(f"/operator/accounts/user/999999/help-desk/{task}").status_code == 404


def test_the_accounts_page_leads_to_its_help_desk(console: Client, paula: User) -> None:
    page = console.get(f"/operator/accounts/user/{paula.pk}/change/").content.decode()
    assert f'href="{_url(paula)}"' in page
