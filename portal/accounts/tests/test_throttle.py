"""Failed sign-ins slow down, then lock: per username (known or not) and per address.

Paula is a patient. Someone guessing her password, or guessing many usernames
from one address, is slowed after a few failures and locked after ten.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD, finish_first_steps, totp_now
from portal.accounts import throttle
from portal.accounts.models import SignInThrottle, User
from portal.accounts.tests.helpers import actions, audit_text, last_link, page_text
from portal.accounts.views.signin import WRONG_CREDENTIALS
from portal.audit.models import AuditEvent
from portal.core.times import moment

ATTACKER = "203.0.113.66"
HOME = "198.51.100.7"


def let_time_pass(seconds: int = 60) -> None:
    """Every slow-down has run out (locks are left alone)."""
    SignInThrottle.objects.update(last_failure_at=timezone.now() - timedelta(seconds=seconds))


def attempt(client: Client, username: str, password: str, *, address: str = ATTACKER) -> str:
    response = client.post(
        "/account/sign-in/", {"username": username, "password": password}, REMOTE_ADDR=address
    )
    return page_text(response) if response.status_code != 302 else "SIGNED IN"


def fail(client: Client, username: str, times: int, *, address: str = ATTACKER) -> list[str]:
    pages = []
    for _ in range(times):
        pages.append(attempt(client, username, "a wrong guess each time", address=address))
        let_time_pass()
    return pages


def message(page: str) -> str:
    found = re.search(r'usa-alert__text">([^<]*)<', page)
    assert found, page[:2000]
    return found.group(1)


def test_first_failures_just_say_wrong(client: Client, paula: User) -> None:
    """The first few mistakes, made quickly, each get the plain 'not right' answer."""
    for _ in range(settings.PORTAL_SLOWDOWN_AFTER_FAILURES - 1):
        assert WRONG_CREDENTIALS in attempt(client, "paula", "a wrong guess each time")


def test_after_a_few_failures_attempts_must_wait(client: Client, paula: User) -> None:
    """After three quick failures even the right password must wait, and the page says how long."""
    finish_first_steps(paula)
    for _ in range(3):
        attempt(client, "paula", "a wrong guess each time")
    held = attempt(client, "paula", PASSWORD)
    assert re.search(r"Too many failed attempts\. Wait \d+ seconds?, then try again\.", message(held))
    assert "sign_in_held" in actions()
    let_time_pass()
    assert attempt(client, "paula", PASSWORD) == "SIGNED IN"


def test_waits_grow_with_each_failure(client: Client, paula: User) -> None:
    """Each further failure makes the wait longer, up to half a minute."""
    waits = []
    for _ in range(5):
        fail(client, "paula", 1)
    for _ in range(3):
        SignInThrottle.objects.update(last_failure_at=timezone.now())
        waits.append(int(re.findall(r"Wait (\d+) second", attempt(client, "paula", PASSWORD))[0]))
        let_time_pass()
        fail(client, "paula", 1)
    assert waits == sorted(waits)
    assert waits[-1] > waits[0]
    assert all(wait <= 30 for wait in waits)


def test_ten_failures_lock_the_account_and_say_until_when(client: Client, paula: User) -> None:
    """After ten failures Paula's account is locked: even her real password is refused,
    and the page says until what time, and suggests a reset."""
    finish_first_steps(paula)
    fail(client, "paula", 10)
    row = SignInThrottle.objects.get(key=throttle.username_key("paula"))
    assert row.locked_until is not None
    minutes = (row.locked_until - timezone.now()).total_seconds() / 60
    assert settings.PORTAL_LOCK_MINUTES - 1 < minutes <= settings.PORTAL_LOCK_MINUTES
    text = message(attempt(client, "paula", PASSWORD, address=HOME))
    assert f"this account is locked until {moment(row.locked_until)} (about" in text
    assert "reset it" in text
    assert AuditEvent.objects.filter(action="account_locked", actor_id=paula.pk).count() == 1
    # When the lock runs out, the right password works again.
    SignInThrottle.objects.filter(key=throttle.username_key("paula")).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert attempt(client, "paula", PASSWORD, address=HOME) == "SIGNED IN"


def test_unknown_username_gets_exactly_the_same_answers(client: Client, paula: User) -> None:
    """Whether 'paula' exists or not cannot be learnt from the slow-down or the lock."""

    def journey(username: str, address: str) -> list[str]:
        pages = [attempt(client, username, "a wrong guess each time", address=address) for _ in range(4)]
        let_time_pass()
        pages += fail(client, username, 10, address=address)
        pages.append(attempt(client, username, "a wrong guess each time", address=address))
        return [re.sub(r"\d+", "N", message(page)) for page in pages]

    real = journey("paula", "192.0.2.1")
    unknown = journey("paul4", "192.0.2.2")
    assert real == unknown
    assert any("Wait N second" in text for text in real)
    assert "locked until" in real[-1]


def test_username_case_and_spaces_do_not_escape_the_count(client: Client, paula: User) -> None:
    """'Paula', ' paula ' and 'PAULA' are one username, so they share one count."""
    for spelling in ["Paula", " paula ", "PAULA", "paula", "pAuLa"] * 2:
        fail(client, spelling, 1, address=f"192.0.2.{len(actions()) % 200 + 1}")
    assert "locked until" in attempt(client, "paula", PASSWORD, address=HOME)


def test_many_usernames_from_one_address_are_locked_by_address(
    client: Client, paula: User, eve: User
) -> None:
    """Guessing ten different usernames from one address locks that address, not the people."""
    finish_first_steps(paula)
    for number in range(10):
        fail(client, f"guess{number}", 1)
    held = message(attempt(client, "paula", PASSWORD))
    assert "sign-ins from your network are locked until" in held
    # Paula at home is not affected.
    assert attempt(client, "paula", PASSWORD, address=HOME) == "SIGNED IN"


def test_success_resets_the_username_count(client: Client, paula: User) -> None:
    """Eight mistakes, then the right password: the next mistakes start counting from zero."""
    finish_first_steps(paula)
    fail(client, "paula", 8, address=HOME)
    assert attempt(client, "paula", PASSWORD, address=HOME) == "SIGNED IN"
    client.post("/account/sign-out/")
    for index in range(9):
        fail(client, "paula", 1, address=f"192.0.2.{index + 1}")
    assert attempt(client, "paula", PASSWORD, address="192.0.2.99") == "SIGNED IN"


def test_own_success_does_not_reset_the_count_for_an_address(client: Client, paula: User, eve: User) -> None:
    """Eve cannot guess other people's passwords for ever by signing in to her own account
    between guesses: the count for her address keeps running."""
    finish_first_steps(eve)
    for number in range(12):
        fail(client, f"guess{number}", 1)
        if number % 4 == 3:
            attempt(client, "eve", PASSWORD)
            client.post("/account/sign-out/")
            let_time_pass()
    assert "sign-ins from your network are locked" in attempt(client, "guess99", "still guessing")


def test_wrong_second_factor_codes_count_toward_the_lock(client: Client, dr_diaz: User) -> None:
    """Someone with Dr. Diaz's password still cannot guess codes: ten wrong codes lock the account."""
    for _ in range(10):
        client.post("/account/sign-in/", {"username": "dr.diaz", "password": PASSWORD}, REMOTE_ADDR=ATTACKER)
        response = client.post("/account/sign-in/second-step/", {"code": "000000"}, REMOTE_ADDR=ATTACKER)
        let_time_pass()
    assert SignInThrottle.objects.get(key=throttle.username_key("dr.diaz")).locked_until is not None
    assert "locked until" in page_text(response) or "locked until" in attempt(client, "dr.diaz", PASSWORD)
    # Even the right code does not get through while locked.
    fresh = Client()
    fresh.post("/account/sign-in/", {"username": "dr.diaz", "password": PASSWORD}, REMOTE_ADDR=HOME)
    assert fresh.get("/").status_code == 302


def test_password_reset_lifts_the_lock(
    client: Client, paula: User, django_capture_on_commit_callbacks: object
) -> None:
    """After an attacker locked Paula's account, resetting her password lets her straight back in."""
    finish_first_steps(paula)
    fail(client, "paula", 10)
    home = Client()
    assert "locked until" in attempt(home, "paula", PASSWORD, address=HOME)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        home.post("/account/password-reset/", {"username": "paula"}, REMOTE_ADDR=HOME)
    new = "a fresh start in spring"
    done = home.post(last_link(), {"password": new, "password_confirm": new}, REMOTE_ADDR=HOME)
    assert done.status_code == 302
    assert attempt(home, "paula", new, address=HOME) == "SIGNED IN"


@pytest.mark.parametrize("username", ["paula", "nobody"])
def test_failures_and_locks_are_audited_without_the_password(
    client: Client, paula: User, username: str
) -> None:
    """Each failure and the lock are in the audit trail; what was typed is not."""
    fail(client, username, 10)
    assert actions().count("sign_in_failed") == 10
    assert actions().count("account_locked") == 1
    assert "a wrong guess" not in audit_text()
    assert "guess each" not in audit_text()
    known = AuditEvent.objects.filter(action="sign_in_failed").values_list("actor_id", flat=True).first()
    assert known == (paula.pk if username == "paula" else None)


def test_totp_code_text_not_in_audit(client: Client, dr_diaz: User) -> None:
    """Neither a right nor a wrong code is written into the audit trail."""
    client.post("/account/sign-in/", {"username": "dr.diaz", "password": PASSWORD})
    client.post("/account/sign-in/second-step/", {"code": "913355"})
    code = totp_now(dr_diaz)
    client.post("/account/sign-in/second-step/", {"code": code})
    text = audit_text()
    assert "913355" not in text
    assert code not in text
    assert PASSWORD not in text


def test_a_password_typed_as_username_is_not_kept_as_text(client: Client, paula: User) -> None:
    """Paula types her password into the username box by mistake: it is not stored anywhere readable."""
    attempt(client, PASSWORD, PASSWORD)
    stored = " ".join(SignInThrottle.objects.values_list("key", flat=True))
    assert PASSWORD not in stored
    assert PASSWORD.casefold() not in stored
    assert PASSWORD not in audit_text()
