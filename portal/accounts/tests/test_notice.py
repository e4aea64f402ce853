"""The DoD Notice and Consent Banner: nobody signs in or registers before agreeing to it.

A fresh browser (no agreement yet) asking for the sign-in page, posting a password,
starting "Create New Account" or arriving at the card sign-in is sent to the notice, with
where it was going kept. "I agree" sets a signed cookie that lasts until the browser
closes; a cookie someone made up is no agreement. The text comes from the configured file,
and the portal will not start with that file missing or empty (accounts.E001).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from conftest import PASSWORD, finish_first_steps, without_consent
from portal.accounts import consent
from portal.accounts.checks import consent_banner_file
from portal.accounts.models import User
from portal.audit.models import AuditEvent

STANDARD_OPENING = "You are accessing a U.S. Government (USG) Information System (IS)"


def notice_next(response: Any) -> str:
    """Where the notice will send the browser after "I agree", from the redirect to it."""
    assert response.status_code in (302, 303), response.status_code
    location = urlsplit(response["Location"])
    assert location.path == "/account/notice/", response["Location"]
    return parse_qs(location.query)["next"][0]


@pytest.fixture
def fresh(db: Any) -> Client:
    """A browser that has not agreed to the notice."""
    return without_consent(Client())


def test_sign_in_page_sends_a_fresh_browser_to_the_notice_keeping_next(fresh: Client) -> None:
    response = fresh.get("/account/sign-in/?next=/messages/")
    assert notice_next(response) == "/account/sign-in/?next=%2Fmessages%2F"


def test_a_password_posted_without_agreeing_signs_nobody_in(fresh: Client, paula: User) -> None:
    finish_first_steps(paula)
    response = fresh.post(
        "/account/sign-in/", {"username": "paula", "password": PASSWORD, "next": "/messages/"}
    )
    assert notice_next(response) == "/account/sign-in/?next=%2Fmessages%2F"
    assert "_auth_user_id" not in fresh.session
    assert not AuditEvent.objects.filter(action="sign_in").exists()
    assert fresh.get("/").status_code == 302


def test_notice_shows_the_standard_text_and_i_agree_goes_on_to_sign_in(fresh: Client, paula: User) -> None:
    page = fresh.get("/account/notice/?next=/account/sign-in/%3Fnext%3D/messages/")
    assert page.status_code == 200
    text = page.content.decode()
    assert STANDARD_OPENING in text
    assert "<li>At any time, the USG may inspect and seize data stored on this IS.</li>" in text
    assert 'value="/account/sign-in/?next=/messages/"' in text

    agreed = fresh.post("/account/notice/", {"next": "/account/sign-in/?next=/messages/"})
    assert agreed.status_code == 302
    assert agreed["Location"] == "/account/sign-in/?next=/messages/"
    cookie = agreed.cookies[consent.cookie_name()]
    # Until the browser closes: no lifetime of its own; not readable by scripts.
    assert cookie["max-age"] == "" and cookie["expires"] == ""
    assert cookie["httponly"]

    assert fresh.get("/account/sign-in/?next=/messages/").status_code == 200
    finish_first_steps(paula)
    signed = fresh.post(
        "/account/sign-in/", {"username": "paula", "password": PASSWORD, "next": "/messages/"}
    )
    assert signed.status_code == 302
    assert signed["Location"] == "/messages/"


def test_notice_never_sends_anyone_to_another_site(fresh: Client) -> None:
    agreed = fresh.post("/account/notice/", {"next": "https://evil.example.com/"})
    assert agreed["Location"] == "/"


@pytest.mark.parametrize(
    "value",
    [
        "agreed",  # unsigned
        signing.get_cookie_signer(salt="another salt").sign("agreed"),
        "agreed:forged-signature",
    ],
)
def test_a_made_up_or_altered_cookie_is_no_agreement(fresh: Client, value: str) -> None:
    fresh.cookies[consent.cookie_name()] = value
    response = fresh.get("/account/sign-in/")
    assert notice_next(response) == "/account/sign-in/"


def test_a_browser_without_the_cookie_is_asked_again(fresh: Client) -> None:
    """The agreement lives in the browser session: without the cookie, the notice comes back."""
    fresh.post("/account/notice/", {"next": "/account/sign-in/"})
    assert fresh.get("/account/sign-in/").status_code == 200
    without_consent(fresh)
    assert notice_next(fresh.get("/account/sign-in/")) == "/account/sign-in/"


def test_create_new_account_goes_through_the_notice(fresh: Client, rosa: Any) -> None:
    assert notice_next(fresh.get("/account/register/")) == "/account/register/"
    assert notice_next(fresh.get("/account/register/account/")) == "/account/register/account/"
    posted = fresh.post(
        "/account/register/",
        {"dod_id": "9900000005", "last_name": "Marsh", "birth_date": "09/14/1975"},
    )
    assert notice_next(posted) == "/account/register/"
    assert "portal_registration_patient" not in fresh.session
    fresh.post("/account/notice/", {"next": "/account/register/"})
    assert fresh.get("/account/register/").status_code == 200


def test_card_sign_in_goes_to_the_notice_on_the_main_site(fresh: Client, settings: Any) -> None:
    settings.PORTAL_CARD_ORIGIN = "https://card.portal.example.mil"
    settings.PORTAL_BASE_URL = "https://portal.example.mil"
    response = fresh.get("/account/card/sign-in/?next=/messages/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "portal.example.mil",
        "/account/notice/",
    )
    assert parse_qs(location.query)["next"] == ["/account/sign-in/?next=%2Fmessages%2F"]


def test_card_link_carries_the_agreement_to_the_card_origin(fresh: Client) -> None:
    """The card origin may be another host, which never sees the cookie: the sign-in page's
    card link carries a short-lived signed token instead; a stale or forged one is refused."""
    fresh.post("/account/notice/", {"next": "/account/sign-in/"})
    page = fresh.get("/account/sign-in/?next=/messages/").content.decode()
    href = page.split("Sign in with your CAC/PIV", 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    query = parse_qs(urlsplit(href.replace("&amp;", "&")).query)
    assert query["next"] == ["/messages/"]
    card = without_consent(Client())
    # Past the notice: the card step itself answers (no certificate on this plain request).
    passed = card.get("/account/card/sign-in/", {"consent": query["consent"][0]})
    assert passed.status_code == 400
    forged = card.get("/account/card/sign-in/", {"consent": "agreed"})
    assert forged.status_code == 302 and "/account/notice/" in forged["Location"]


def test_card_token_expires(fresh: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    token = consent.card_token()
    monkeypatch.setattr(consent, "TOKEN_SECONDS", -1)
    response = fresh.get("/account/card/sign-in/", {"consent": token})
    assert response.status_code == 302 and "/account/notice/" in response["Location"]


def test_the_text_comes_from_the_configured_file(fresh: Client, settings: Any, tmp_path: Path) -> None:
    banner = tmp_path / "banner.txt"
    banner.write_text("Hospital notice, first paragraph.\n\n- first condition\n- second condition\n")
    settings.PORTAL_CONSENT_BANNER_FILE = banner
    text = fresh.get("/account/notice/").content.decode()
    assert "<p>Hospital notice, first paragraph.</p>" in text
    assert "<li>first condition</li><li>second condition</li>" in text
    assert STANDARD_OPENING not in text


def test_the_default_file_holds_the_standard_banner(settings: Any) -> None:
    assert consent_banner_file() == []
    text = consent.banner_file().read_text()
    assert text.startswith(STANDARD_OPENING)
    assert "psychotherapists, or clergy" in text


@pytest.mark.parametrize("content", [None, "", "  \n\n "])
def test_missing_or_empty_banner_file_is_a_system_check_error(
    db: Any, settings: Any, tmp_path: Path, content: str | None
) -> None:
    banner = tmp_path / "banner.txt"
    if content is not None:
        banner.write_text(content)
    settings.PORTAL_CONSENT_BANNER_FILE = banner
    errors = consent_banner_file()
    assert [error.id for error in errors] == ["accounts.E001"]
    assert str(banner) in errors[0].msg
    with pytest.raises(SystemCheckError, match="accounts.E001"):
        call_command("check")


def test_agreeing_writes_nothing_to_the_audit_log(fresh: Client) -> None:
    """Anonymous, before anyone is known: the sign-in that follows is what is audited."""
    fresh.post("/account/notice/", {"next": "/account/sign-in/"})
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("path", ["/account/notice/", "/account/sign-in/", "/help/", "/operator/"])
def test_every_page_opens_with_the_government_banner(
    client: Client, signed_in: Callable[[User], Client], admin_adams: User, path: str
) -> None:
    """The USWDS banner, its images from the vendored USWDS, no inline style or script (CSP);
    the operator console (Django admin pages) has it too."""
    response = (signed_in(admin_adams) if path == "/operator/" else client).get(path)
    assert response.status_code == 200
    html = response.content.decode()
    banner = html.split('<section class="usa-banner"', 1)[1].split("</section>", 1)[0]
    assert "An official website of the United States government" in banner
    assert 'aria-controls="gov-banner"' in banner and 'aria-expanded="false"' in banner
    assert "Here&#x27;s how you know" in banner or "Here's how you know" in banner
    assert "/static/vendor/uswds/img/us_flag_small.png" in banner
    assert "/static/vendor/uswds/img/icon-https.svg" in banner
    assert "style=" not in banner and "<script" not in banner
    assert html.index("usa-banner") < html.index("<main") if "<main" in html else True
