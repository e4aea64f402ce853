"""The second sign-in step: authenticator app (TOTP) and recovery codes.

Dr. Diaz is staff with an authenticator; staff must always pass a second step.
Paula is a patient: she is offered the second step at first sign-in and may
skip it, unless the portal is configured to require it (PORTAL_PATIENT_MFA).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import pytest
from django.test import Client, override_settings
from django.utils.html import escape
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD, finish_first_steps, totp_now
from portal.accounts import sessions
from portal.accounts.models import User
from portal.accounts.tests.helpers import actions, audit_text, last_link, page_text

SETUP = "/account/security/authenticator/"
SECOND_STEP = "/account/sign-in/second-step/"
WRONG_CODE = "That code is not right."


def pending_code(user: User) -> str:
    """What Paula's app shows for the authenticator she is adding."""
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


def recovery_codes_from(page: str) -> list[str]:
    listing = page.split('aria-label="Recovery codes"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r"<li>([^<]+)</li>", listing)


def set_up_authenticator(client: Client, user: User) -> list[str]:
    """Paula adds an authenticator and reads her recovery codes; returns them."""
    assert client.get(SETUP).status_code == 200
    response = client.post(SETUP, {"code": pending_code(user)})
    assert response.status_code == 302, page_text(response)
    assert response["Location"] == "/account/security/recovery-codes/"
    return recovery_codes_from(page_text(client.get(response["Location"])))


def password_step(client: Client, user: User, *, password: str = PASSWORD) -> str:
    response = client.post("/account/sign-in/", {"username": user.username, "password": password})
    assert response.status_code == 302, page_text(response)
    return str(response["Location"])


def test_setup_page_shows_a_qr_code_and_the_key_as_text(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """Paula can scan the QR code, or type the key shown under it: both name the same secret."""
    client = signed_in(paula)
    page = page_text(client.get(SETUP))
    assert 'src="data:image/svg+xml' in page
    key_text = re.search(r'id="text-key">([^<]+)<', page)
    assert key_text is not None
    typed = key_text.group(1).replace(" ", "")
    device = TOTPDevice.objects.get(user=paula, confirmed=False)
    assert base64.b32decode(typed + "=" * (-len(typed) % 8)) == device.bin_key
    # Reloading the page keeps the same key, so a slow scan still works.
    assert page_text(client.get(SETUP)).count(key_text.group(1)) == 1
    assert TOTPDevice.objects.filter(user=paula, confirmed=False).count() == 1


def test_wrong_setup_code_is_refused_and_nothing_changes(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """A code that is not what the app shows does not turn the second step on."""
    client = signed_in(paula)
    client.get(SETUP)
    right = pending_code(paula)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post(SETUP, {"code": wrong})
    assert response.status_code == 400
    assert WRONG_CODE in page_text(response)
    assert not TOTPDevice.objects.filter(user=paula, confirmed=True).exists()
    malformed = client.post(SETUP, {"code": "12ab"})
    assert "The code is 6 digits, like 123456." in page_text(malformed)


def test_ten_recovery_codes_are_shown_once(signed_in: Callable[[User], Client], paula: User) -> None:
    """After set-up Paula sees ten recovery codes, one time only."""
    client = signed_in(paula)
    codes = set_up_authenticator(client, paula)
    assert len(codes) == 10
    assert len(set(codes)) == 10
    again = client.get("/account/security/recovery-codes/")
    assert again.status_code == 302
    assert again["Location"] == "/account/security/"
    assert not any(code in page_text(client.get("/account/security/")) for code in codes)
    assert "second_factor_enabled" in actions()
    text = audit_text()
    assert not any(code in text for code in codes)


def test_each_recovery_code_works_once(
    client: Client, signed_in: Callable[[User], Client], paula: User
) -> None:
    """A recovery code signs Paula in once instead of the app; the second time it is refused."""
    codes = set_up_authenticator(signed_in(paula), paula)
    client.post("/account/sign-out/")
    assert password_step(client, paula) == SECOND_STEP
    response = client.post(SECOND_STEP, {"code": codes[0]})
    assert response.status_code == 302
    assert "You used a recovery code. 9 remain." in page_text(client.get("/", follow=True))
    assert "recovery_code_used" in actions()
    client.post("/account/sign-out/")
    password_step(client, paula)
    reused = client.post(SECOND_STEP, {"code": codes[0]})
    assert reused.status_code == 400
    assert WRONG_CODE in page_text(reused)
    # Another code, typed in capitals with a space, still works.
    other = codes[1].upper()
    assert client.post(SECOND_STEP, {"code": f"{other[:4]} {other[4:]}"}).status_code == 302
    assert StaticToken.objects.filter(device__user=paula).count() == 8


def test_new_recovery_codes_replace_the_old_ones(signed_in: Callable[[User], Client], paula: User) -> None:
    """Making new codes makes every old code useless."""
    client = signed_in(paula)
    old = set_up_authenticator(client, paula)
    client.post("/account/security/recovery-codes/new/")
    new = recovery_codes_from(page_text(client.get("/account/security/recovery-codes/")))
    assert len(new) == 10
    assert not set(old) & set(new)
    fresh = Client()
    password_step(fresh, paula)
    assert fresh.post(SECOND_STEP, {"code": old[0]}).status_code == 400
    assert fresh.post(SECOND_STEP, {"code": new[0]}).status_code == 302


def test_staff_with_a_device_must_enter_the_code(client: Client, dr_diaz: User) -> None:
    """Dr. Diaz's password alone does not sign him in: no page opens until the code is right."""
    assert password_step(client, dr_diaz) == SECOND_STEP
    assert client.get("/").status_code == 302
    assert client.get("/account/security/").status_code == 302
    wrong = client.post(SECOND_STEP, {"code": "000000" if totp_now(dr_diaz) != "000000" else "111111"})
    assert wrong.status_code == 400
    assert escape("That code is not right. Codes change every 30 seconds") in page_text(wrong)
    assert client.get("/account/security/").status_code == 302
    right = client.post(SECOND_STEP, {"code": totp_now(dr_diaz)})
    assert right.status_code == 302
    assert client.get("/account/security/").status_code == 200
    sign_in_event = [a for a in actions() if a.startswith("sign_in")]
    assert sign_in_event[-1] == "sign_in"


def test_right_code_straight_after_a_wrong_one_works(client: Client, dr_diaz: User) -> None:
    """Dr. Diaz mistypes his code, then types it right at once: he is signed in."""
    password_step(client, dr_diaz)
    right = totp_now(dr_diaz)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert client.post(SECOND_STEP, {"code": wrong}).status_code == 400
    assert client.post(SECOND_STEP, {"code": right}).status_code == 302


def test_old_wrong_codes_do_not_shut_the_owner_out(client: Client, dr_diaz: User) -> None:
    """Thirty wrong codes someone typed over the past days (each lock long over) do not
    stop Dr. Diaz's right code today."""
    from django.utils import timezone

    TOTPDevice.objects.filter(user=dr_diaz).update(
        throttling_failure_count=30, throttling_failure_timestamp=timezone.now()
    )
    password_step(client, dr_diaz)
    assert client.post(SECOND_STEP, {"code": totp_now(dr_diaz)}).status_code == 302


def test_a_code_cannot_be_used_twice(client: Client, dr_diaz: User) -> None:
    """Someone who saw Dr. Diaz type a code cannot use the same code again."""
    password_step(client, dr_diaz)
    code = totp_now(dr_diaz)
    assert client.post(SECOND_STEP, {"code": code}).status_code == 302
    onlooker = Client()
    password_step(onlooker, dr_diaz)
    assert onlooker.post(SECOND_STEP, {"code": code}).status_code == 400


def test_second_step_without_the_password_step_goes_back_to_sign_in(client: Client, dr_diaz: User) -> None:
    """Opening the code page directly, or after five minutes, asks for the password again."""
    response = client.post(SECOND_STEP, {"code": totp_now(dr_diaz)})
    assert response["Location"] == "/account/sign-in/"
    password_step(client, dr_diaz)
    session = client.session
    pending = session[sessions.PENDING]
    pending["at"] -= sessions.PENDING_LIFETIME_SECONDS + 1
    session[sessions.PENDING] = pending
    session.save()
    late = client.post(SECOND_STEP, {"code": totp_now(dr_diaz)})
    assert late["Location"] == "/account/sign-in/"
    assert "took too long" in page_text(client.get("/account/sign-in/"))
    assert client.get("/account/security/").status_code == 302


def test_staff_without_a_device_must_set_one_up_before_the_session_starts(
    client: Client, dr_diaz: User
) -> None:
    """Dr. Diaz lost his authenticator: after his password he must set up a new one, and no
    other page opens until he has."""
    TOTPDevice.objects.filter(user=dr_diaz).delete()
    assert password_step(client, dr_diaz) == SETUP
    assert client.get("/").status_code == 302
    assert client.get("/account/security/").status_code == 302
    page = client.get(SETUP)
    assert "Your account needs a second sign-in step" in page_text(page)
    codes_page = client.post(SETUP, {"code": pending_code(dr_diaz)})
    assert codes_page["Location"] == "/account/security/recovery-codes/"
    assert len(recovery_codes_from(page_text(client.get(codes_page["Location"])))) == 10
    assert client.get("/account/security/").status_code == 200
    assert "sign_in" in actions()


def test_staff_cannot_turn_the_second_step_off(signed_in: Callable[[User], Client], dr_diaz: User) -> None:
    """Staff accounts must keep their second step."""
    client = signed_in(dr_diaz)
    response = client.post("/account/security/authenticator/remove/", follow=True)
    assert "Your account must keep a second sign-in step" in page_text(response)
    assert TOTPDevice.objects.filter(user=dr_diaz, confirmed=True).exists()


def test_patient_is_offered_the_second_step_at_first_sign_in_and_may_skip(
    client: Client, paula: User
) -> None:
    """Paula's first sign-in offers an authenticator app; 'Not now' goes on, and it is not asked again."""
    password_step(client, paula)
    assert client.get("/")["Location"] == "/account/second-step/"
    response = client.post("/account/second-step/", {"choice": "later"})
    assert response["Location"] == "/account/contact/"
    paula.refresh_from_db()
    assert paula.mfa_offered_at is not None
    client.post("/account/sign-out/")
    password_step(client, paula)
    assert client.get("/")["Location"] == "/account/contact/"


def test_patient_who_accepts_the_offer_goes_to_setup(client: Client, paula: User) -> None:
    """Choosing 'Set up' at the offer opens the set-up page."""
    password_step(client, paula)
    assert client.post("/account/second-step/", {"choice": "setup"})["Location"] == SETUP
    assert client.get(SETUP).status_code == 200


@override_settings(PORTAL_PATIENT_MFA="required")
def test_required_patient_mfa_forces_setup_before_the_session(client: Client, paula: User) -> None:
    """Where the portal requires it, Paula cannot skip: she sets up an app before any page opens."""
    finish_first_steps(paula)
    assert password_step(client, paula) == SETUP
    assert client.get("/").status_code == 302
    assert client.get("/").get("Location", "").startswith("/account/sign-in/")
    client.get(SETUP)
    client.post(SETUP, {"code": pending_code(paula)})
    assert client.get("/").status_code == 200
    removal = client.post("/account/security/authenticator/remove/", follow=True)
    assert "must keep a second sign-in step" in page_text(removal)


@override_settings(PORTAL_PATIENT_MFA="required")
def test_required_patient_mfa_asks_for_the_code_when_set_up(client: Client, paula: User) -> None:
    """With an authenticator, Paula gives her code like staff do."""
    TOTPDevice.objects.create(user=paula, name="app", confirmed=True)
    assert password_step(client, paula) == SECOND_STEP


def test_password_reset_does_not_skip_the_second_step(
    client: Client, dr_diaz: User, django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    """After resetting his password by e-mail, Dr. Diaz still needs his code to sign in."""
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        client.post("/account/password-reset/", {"username": "dr.diaz"})
    new = "a new season of quiet"
    done = client.post(last_link(), {"password": new, "password_confirm": new})
    assert done["Location"] == "/account/sign-in/"
    assert "authenticator app" in page_text(client.get("/account/sign-in/"))
    assert client.get("/account/security/").status_code == 302
    assert password_step(client, dr_diaz, password=new) == SECOND_STEP
    assert client.get("/account/security/").status_code == 302


def test_setting_up_an_authenticator_signs_out_other_sessions(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """When Paula adds an authenticator on her laptop, her phone's session ends; the laptop stays."""
    phone = Client()
    finish_first_steps(paula)
    password_step(phone, paula)
    assert phone.get("/").status_code == 200
    laptop = signed_in(paula)
    set_up_authenticator(laptop, paula)
    assert laptop.get("/account/security/").status_code == 200
    ended = phone.get("/account/security/")
    assert ended.status_code == 302
    assert ended["Location"].startswith("/account/sign-in/")
    assert "signed out because your password or sign-in method changed" in page_text(
        phone.get(ended["Location"])
    )
    assert "session_revoked" in actions()


def test_removing_the_authenticator_signs_out_other_sessions(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """Turning the second step off ends every other session of Paula's too."""
    laptop = signed_in(paula)
    codes = set_up_authenticator(laptop, paula)
    phone = Client()
    password_step(phone, paula)
    phone.post(SECOND_STEP, {"code": codes[0]})  # the app's current code was just used
    assert phone.get("/").status_code == 200
    laptop.post("/account/security/authenticator/remove/")
    assert not TOTPDevice.objects.filter(user=paula).exists()
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302


@pytest.mark.parametrize("code_kind", ["totp", "recovery"])
def test_codes_are_never_in_the_audit_trail(
    client: Client, signed_in: Callable[[User], Client], paula: User, code_kind: str
) -> None:
    """Neither the app's code nor a recovery code is written into the audit rows."""
    codes = set_up_authenticator(signed_in(paula), paula)
    client.post("/account/sign-out/")
    password_step(client, paula)
    code = totp_now(paula) if code_kind == "totp" else codes[3]
    client.post(SECOND_STEP, {"code": code})
    assert code not in audit_text()


def test_password_reset_ends_a_half_finished_sign_in(
    client: Client, dr_diaz: User, django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    """Someone who got past Dr. Diaz's password and waits at the code page is sent back
    to the start once he resets his password."""
    password_step(client, dr_diaz)
    owner = Client()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[attr-defined]
        owner.post("/account/password-reset/", {"username": "dr.diaz"})
    new = "a new season of quiet"
    owner.post(last_link(), {"password": new, "password_confirm": new})
    response = client.post(SECOND_STEP, {"code": totp_now(dr_diaz)})
    assert response["Location"] == "/account/sign-in/"
    assert client.get("/account/security/").status_code == 302


def test_setup_page_needs_a_sign_in(client: Client, paula: User) -> None:
    """The set-up page is not open to a visitor who has not signed in."""
    response = client.get(SETUP)
    assert response["Location"] == "/account/sign-in/"
    assert not TOTPDevice.objects.exists() or not TOTPDevice.objects.filter(user=paula).exists()


def test_patient_with_a_pending_code_step_cannot_open_setup(client: Client, paula: User) -> None:
    """Half-way through signing in (password right, code owed), Paula cannot replace her
    authenticator: that would let a password alone take over the account."""
    TOTPDevice.objects.create(user=paula, name="app", confirmed=True)
    password_step(client, paula)
    response = client.get(SETUP)
    assert response["Location"] == "/account/sign-in/"
    assert TOTPDevice.objects.filter(user=paula).count() == 1
