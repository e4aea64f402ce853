"""Account security: recovery codes to download, the authenticator's app link, recent
sign-ins and "This wasn't me".

Paula is a patient; she adds an authenticator and gets recovery codes. Eve is another
patient: Paula's codes must never reach her, whatever her session holds.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.contrib.auth import HASH_SESSION_KEY
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD, finish_first_steps, sign_in
from portal.accounts.browsers import browser_code, browser_words
from portal.accounts.models import User
from portal.accounts.tests.helpers import actions, audit_text, page_text
from portal.accounts.tests.test_second_factor import recovery_codes_from, set_up_authenticator
from portal.accounts.views.security import RECOVERY_CODES_SET
from portal.audit.models import AuditEvent

DOWNLOAD = "/account/security/recovery-codes/download/"
SECURITY = "/account/security/"
NOT_ME = "/account/security/not-me/"
CHANGE_PASSWORD = "/account/security/password/"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


# --- The browser, as a code and in words ------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "code", "words"),
    [
        (CHROME_WINDOWS, "chrome-windows", "Chrome on Windows"),
        (SAFARI_IPHONE, "safari-ios", "Safari on iPhone or iPad"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.4 Safari/605.1.15",
            "safari-macos",
            "Safari on Mac",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
            "edge-windows",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "firefox-linux",
            "Firefox on Linux",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
            "samsung-android",
            "Samsung Internet on Android",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
            "chrome-ios",
            "Chrome on iPhone or iPad",
        ),
        ("curl/8.5.0", "other-other", "A browser we do not recognize"),
        ("", "other-other", "A browser we do not recognize"),
    ],
)
def test_browser_is_kept_as_a_code_and_shown_in_words(user_agent: str, code: str, words: str) -> None:
    assert browser_code(user_agent) == code
    assert browser_words(code) == words


def test_a_user_agent_cannot_put_text_in_the_audit_log(client: Client, paula: User) -> None:
    """Whatever the browser claims to be, the sign-in's event keeps one of a few fixed codes."""
    finish_first_steps(paula)
    client.post(
        "/account/sign-in/",
        {"username": "paula", "password": PASSWORD},
        HTTP_USER_AGENT="Chrome/1 <script>alert(1)</script> Windows " + "x" * 5000,
    )
    assert AuditEvent.objects.get(action="sign_in").details["browser"] == "chrome-windows"


# --- Recovery codes: download ----------------------------------------------------------------------


def set_up_and_read_codes_page(client: Client, user: User) -> tuple[list[str], str]:
    """Paula confirms the authenticator she is adding; returns the codes and the codes page."""
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    code = f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"
    response = client.post("/account/security/authenticator/", {"code": code})
    assert response["Location"] == "/account/security/recovery-codes/"
    page = page_text(client.get(response["Location"]))
    return recovery_codes_from(page), page


def test_paula_downloads_the_codes_she_just_made(signed_in: Callable[[User], Client], paula: User) -> None:
    """A text file with her ten codes, her username and when they were made; never kept in a
    cache; the download is audited by the set's id, without a code."""
    client = signed_in(paula)
    codes = set_up_authenticator(client, paula)
    response = client.get(DOWNLOAD)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="patient-portal-recovery-codes.txt"'
    assert response["Cache-Control"] == "no-store"
    text = page_text(response)
    assert all(code in text for code in codes)
    assert "Username: paula" in text
    assert "Made: " in text
    device = StaticDevice.objects.get(user=paula)
    event = AuditEvent.objects.get(action="recovery_codes_downloaded")
    assert (event.actor_id, event.object_type, event.object_id) == (
        paula.pk,
        "recovery_codes",
        str(device.pk),
    )
    assert event.details == {}
    assert not any(code in audit_text() for code in codes)


def test_the_codes_page_offers_download_and_print_without_codes_in_any_address(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    client = signed_in(paula)
    client.get("/account/security/authenticator/")
    codes, page = set_up_and_read_codes_page(client, paula)
    assert f'href="{DOWNLOAD}">Download codes</a>' in page
    assert "data-print-codes" in page and "Print codes" in page
    addresses = re.findall(r'(?:href|src|action)="([^"]*)"', page)
    assert not any(code in address for code in codes for address in addresses)
    # The print sheet names the portal, the person and the day.
    assert "Username: <strong>paula</strong>" in page


def test_new_codes_download_replaces_the_old(signed_in: Callable[[User], Client], paula: User) -> None:
    """After making new codes the download holds the new ones, none of the old."""
    client = signed_in(paula)
    old = set_up_authenticator(client, paula)
    client.post("/account/security/recovery-codes/new/")
    new = recovery_codes_from(page_text(client.get("/account/security/recovery-codes/")))
    text = page_text(client.get(DOWNLOAD))
    assert all(code in text for code in new)
    assert not any(code in text for code in old)


def test_download_closes_ten_minutes_after_the_codes_were_made(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """Eleven minutes later the page says the codes can no longer be downloaded and points to
    making new ones; nothing is audited as downloaded."""
    client = signed_in(paula)
    codes = set_up_authenticator(client, paula)
    made = StaticDevice.objects.get(user=paula)
    StaticDevice.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(minutes=9))
    assert client.get(DOWNLOAD).status_code == 200
    StaticDevice.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    response = client.get(DOWNLOAD)
    assert response.status_code == 410
    assert response["Cache-Control"] == "no-store"
    text = page_text(response)
    assert "These recovery codes can no longer be downloaded" in text
    assert "make new ones under Account security" in text
    assert 'href="/account/security/#second-step"' in text
    assert not any(code in text for code in codes)
    assert actions().count("recovery_codes_downloaded") == 1


def test_eve_cannot_download_paulas_codes(
    signed_in: Callable[[User], Client], paula: User, eve: User
) -> None:
    """Eve's session gets no codes, even holding the id of Paula's set (the codes belong to whoever
    is signed in, and to the session that made them)."""
    paulas = Client()
    finish_first_steps(paula)
    sign_in(paulas, paula)
    codes = set_up_authenticator(paulas, paula)
    client = signed_in(eve)
    assert client.get(DOWNLOAD).status_code == 410
    session = client.session
    session[RECOVERY_CODES_SET] = StaticDevice.objects.get(user=paula).pk
    session.save()
    response = client.get(DOWNLOAD)
    assert response.status_code == 410
    assert not any(code in page_text(response) for code in codes)
    assert "recovery_codes_downloaded" not in actions()


def test_only_the_session_that_made_the_codes_downloads_them(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """Paula's next sign-in (a new session) cannot download codes made in an earlier one."""
    client = signed_in(paula)
    set_up_authenticator(client, paula)
    TOTPDevice.objects.filter(user=paula).update(last_t=-1)  # the set-up's code may sign in again
    other = Client()
    assert sign_in(other, paula).status_code == 302
    assert other.get(DOWNLOAD).status_code == 410


@override_settings(PORTAL_PATIENT_MFA="required")
def test_codes_made_at_a_required_first_set_up_download_too(client: Client, paula: User) -> None:
    """Where the second step is required, Paula sets it up in the middle of signing in; the codes
    page she lands on offers the download, and it works."""
    finish_first_steps(paula)
    response = client.post("/account/sign-in/", {"username": "paula", "password": PASSWORD})
    assert response["Location"] == "/account/security/authenticator/"
    client.get("/account/security/authenticator/")
    codes, page = set_up_and_read_codes_page(client, paula)
    assert f'href="{DOWNLOAD}">Download codes</a>' in page
    text = page_text(client.get(DOWNLOAD))
    assert all(code in text for code in codes)


def test_signed_out_download_asks_to_sign_in(client: Client) -> None:
    response = client.get(DOWNLOAD)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")


# --- The authenticator's app link ------------------------------------------------------------------


@override_settings(OTP_TOTP_ISSUER="MHS Patient Portal")
def test_setup_offers_an_otpauth_link_with_the_same_secret(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """The link opens the app with the issuer, Paula's username and the key also shown as text."""
    client = signed_in(paula)
    page = page_text(client.get("/account/security/authenticator/"))
    found = re.search(
        r'<a class="usa-button" href="(otpauth://[^"]+)">Open in your authenticator app</a>', page
    )
    assert found is not None
    link = urlsplit(unescape(found.group(1)))
    assert (link.scheme, link.netloc) == ("otpauth", "totp")
    assert unquote(link.path) == "/MHS Patient Portal:paula"
    query = parse_qs(link.query)
    assert query["issuer"] == ["MHS Patient Portal"]
    typed = re.search(r'id="text-key">([^<]+)<', page)
    assert typed is not None
    assert query["secret"] == [typed.group(1).replace(" ", "")]
    secret = query["secret"][0]
    device = TOTPDevice.objects.get(user=paula, confirmed=False)
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key


# --- Recent sign-ins -------------------------------------------------------------------------------


def _sign_in_from(user: User, *, address: str, agent: str) -> Client:
    other = Client(REMOTE_ADDR=address, HTTP_USER_AGENT=agent)
    response = sign_in(other, user)
    assert response.status_code == 302
    return other


@override_settings(TIME_ZONE="Pacific/Honolulu")
def test_security_page_lists_recent_sign_ins_in_words(paula: User, eve: User) -> None:
    """Paula sees her username and her last ten sign-ins, newest first, in the hospital's zone
    (named), with how, which browser and from where; this session is marked; failed attempts and
    Eve's sign-ins are not hers to see here."""
    finish_first_steps(paula)
    finish_first_steps(eve)
    for n in range(11):
        _sign_in_from(paula, address=f"203.0.113.{n + 1}", agent=SAFARI_IPHONE)
    _sign_in_from(eve, address="192.0.2.99", agent=SAFARI_IPHONE)
    Client().post("/account/sign-in/", {"username": "paula", "password": "wrong"}, REMOTE_ADDR="192.0.2.66")
    mine = _sign_in_from(paula, address="198.51.100.7", agent=CHROME_WINDOWS)
    page = page_text(mine.get(SECURITY))
    assert "Your username is <strong>paula</strong>" in page
    table = page.split('class="usa-table', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tbody>", 1)[1].split("</tr>")[:-1]
    assert len(rows) == 10
    assert "198.51.100.7" in rows[0] and "Chrome on Windows" in rows[0] and "This session" in rows[0]
    assert "Password" in rows[0]
    assert all("Safari on iPhone or iPad" in row and "This session" not in row for row in rows[1:])
    assert "203.0.113.3" in rows[-1] and "203.0.113.2" not in table
    assert "HST" in rows[0]
    assert "192.0.2.99" not in page and "192.0.2.66" not in page
    assert f'href="{NOT_ME}">This wasn\'t me</a>' in page


def test_sign_in_methods_are_named(signed_in: Callable[[User], Client], dr_diaz: User) -> None:
    """Dr. Diaz signed in with password and authenticator: the list says so."""
    client = signed_in(dr_diaz)
    page = page_text(client.get(SECURITY))
    assert "Password and authenticator app" in page
    assert "This session" in page


# --- This wasn't me --------------------------------------------------------------------------------


def test_this_wasnt_me_ends_other_sessions_and_asks_for_a_new_password(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """Paula, at her desk, sees a sign-in she does not know. Confirming signs out the stranger's
    session (not hers), is audited, and takes her to change her password; after the change she
    is told what was done."""
    finish_first_steps(paula)
    stranger = _sign_in_from(paula, address="192.0.2.50", agent=CHROME_WINDOWS)
    assert stranger.get("/").status_code == 200
    client = signed_in(paula)
    confirm = client.get(NOT_ME)
    assert confirm.status_code == 200
    assert "Sign out everywhere else and change my password" in page_text(confirm)
    assert stranger.get("/").status_code == 200  # looking at the page changes nothing

    response = client.post(NOT_ME)
    assert response.status_code == 302
    assert response["Location"] == CHANGE_PASSWORD
    assert actions().count("other_sessions_ended") == 1
    event = AuditEvent.objects.get(action="other_sessions_ended")
    assert event.actor_id == paula.pk and event.details == {"reason": "not_me"}

    ended = stranger.get("/")
    assert ended.status_code == 302 and ended["Location"].startswith("/account/sign-in/")
    page = client.get(CHANGE_PASSWORD)
    assert page.status_code == 200
    assert "We signed you out of every other place you were signed in" in page_text(page)

    changed = client.post(
        CHANGE_PASSWORD,
        {
            "current_password": PASSWORD,
            "password": "a brand new quiet harbor",
            "password_confirm": "a brand new quiet harbor",
        },
        follow=True,
    )
    text = page_text(changed)
    assert changed.redirect_chain[-1][0] == SECURITY
    assert "Your password is changed, and every other place you were signed in is signed out." in text
    # Told once: the next visit to the password page is an ordinary one.
    assert "We signed you out" not in page_text(client.get(CHANGE_PASSWORD))


def test_this_wasnt_me_needs_a_signed_in_person(client: Client, db: None) -> None:
    for method in (client.get, client.post):
        response = method(NOT_ME)
        assert response.status_code == 302
        assert response["Location"].startswith("/account/sign-in/")
    assert "other_sessions_ended" not in actions()


def test_codes_reach_no_log_cookie_or_address(
    signed_in: Callable[[User], Client], paula: User, side_channels: Any
) -> None:
    """After set-up, the page and the download, the codes are in the recovery-code table (where
    django-otp checks them) and nowhere else: no log line (SQL aside), no cookie, no session."""
    client = signed_in(paula)
    codes = set_up_authenticator(client, paula)
    client.get(DOWNLOAD)
    findings = side_channels.scan(codes, clients={"paula": client})
    elsewhere = [
        str(finding)
        for finding in findings
        if not finding.place.startswith(("table otp_static_statictoken", "log record django.db.backends"))
    ]
    assert elsewhere == []
    assert findings  # the scan does look: the table holds them


def test_this_wasnt_me_without_a_password_stays_on_account_security(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """An account made with a card has no password to change: the other sessions end, and Paula
    is told that her card is her way in and whom to call."""
    client = signed_in(paula)
    paula.set_unusable_password()
    paula.save(update_fields=["password"])
    session = client.session  # as if the account had been made with a card: still signed in
    session[HASH_SESSION_KEY] = paula.get_session_auth_hash()
    session.save()
    confirm = page_text(client.get(NOT_ME))
    assert "only your card signs you in" in confirm and "change my password" not in confirm
    response = client.post(NOT_ME, follow=True)
    assert response.redirect_chain[-1][0] == SECURITY
    assert "Your account has no password: only your card signs you in." in page_text(response)
    assert actions().count("other_sessions_ended") == 1


def test_security_page_query_count_does_not_grow_with_sign_ins(
    signed_in: Callable[[User], Client], paula: User, django_assert_max_num_queries: Any
) -> None:
    """One read of the sign-ins whether Paula has one or ten of them."""
    client = signed_in(paula)
    with django_assert_max_num_queries(99) as one:
        client.get(SECURITY)
    for _ in range(12):
        _sign_in_from(paula, address="203.0.113.9", agent=SAFARI_IPHONE)
    with django_assert_max_num_queries(99) as ten:
        page = page_text(client.get(SECURITY))
    assert page.count("Safari on iPhone or iPad") == 10  # the newest ten; her own is older
    assert len(ten.captured_queries) == len(one.captured_queries)
