"""Sessions: a new key at sign-in, idle and absolute timeouts, CSRF, safe redirects.

Paula is a patient; Alex Adams is an administrator (shorter idle timeout);
both are signed in through the real sign-in pages.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from conftest import PASSWORD, finish_first_steps, sign_in, totp_now
from portal.accounts import sessions
from portal.accounts.models import User
from portal.accounts.tests.helpers import actions, age_session, page_text

MINUTE = 60


def _session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_sign_in_gives_a_new_session_key(client: Client, paula: User) -> None:
    """A session key planted before sign-in is worthless after it (no session fixation)."""
    finish_first_steps(paula)
    planted = client.session
    planted["planted"] = True
    planted.save()
    before = _session_key(client)
    response = sign_in(client, paula)
    assert response.status_code == 302
    after = _session_key(client)
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.get("/").status_code == 200


def test_second_factor_sign_in_also_changes_the_key_at_each_step(client: Client, dr_diaz: User) -> None:
    """Dr. Diaz's key changes after the password and again after the code."""
    planted = client.session
    planted.save()
    keys = [_session_key(client)]
    client.post("/account/sign-in/", {"username": "dr.diaz", "password": PASSWORD})
    keys.append(_session_key(client))
    client.post("/account/sign-in/second-step/", {"code": totp_now(dr_diaz)})
    keys.append(_session_key(client))
    assert len(set(keys)) == 3


def test_idle_patient_is_sent_to_sign_in_and_comes_back_where_she_was(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """After 15 idle minutes Paula's next click asks her to sign in, then takes her back there."""
    client = signed_in(paula)
    age_session(client, idle=15 * MINUTE + 1)
    response = client.get("/account/security/")
    assert response.status_code == 302
    assert response["Location"] == "/account/sign-in/?next=/account/security/"
    page = client.get(response["Location"])
    assert "You were signed out after 15 minutes without activity" in page_text(page)
    assert "session_timeout" in actions()
    assert client.get("/").status_code == 302  # really signed out
    back = client.post(
        "/account/sign-in/", {"username": "paula", "password": PASSWORD, "next": "/account/security/"}
    )
    assert back.status_code == 302
    assert back["Location"] == "/account/security/"


def test_patient_active_within_fifteen_minutes_stays_signed_in(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """Fourteen minutes of reading is not a timeout, even for a patient past the admin limit."""
    client = signed_in(paula)
    age_session(client, idle=14 * MINUTE)
    assert client.get("/").status_code == 200
    age_session(client, idle=14 * MINUTE)  # the last request counted as activity
    assert client.get("/").status_code == 200


def test_administrator_times_out_after_ten_minutes(
    signed_in: Callable[[User], Client], admin_adams: User
) -> None:
    """Alex Adams, an administrator, is signed out after 10 idle minutes, not 15."""
    client = signed_in(admin_adams)
    age_session(client, idle=9 * MINUTE)
    assert client.get("/account/security/").status_code == 200
    age_session(client, idle=10 * MINUTE + 1)
    response = client.get("/account/security/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/?next=")
    assert "10 minutes" in page_text(client.get(response["Location"]))


def test_session_ends_twelve_hours_after_sign_in_even_when_active(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """However busy Paula is, twelve hours after signing in she must sign in again."""
    client = signed_in(paula)
    age_session(client, signed_in=12 * 60 * MINUTE - 60)
    assert client.get("/").status_code == 200
    age_session(client, signed_in=61)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
    assert "signed out after 12 hours" in page_text(client.get(response["Location"]))
    assert "session_expired" in actions()


def test_session_status_does_not_extend_the_session(signed_in: Callable[[User], Client], paula: User) -> None:
    """The timeout warning asks how long is left; asking does not count as activity."""
    client = signed_in(paula)
    age_session(client, idle=10 * MINUTE)
    before = client.session[sessions.LAST_ACTIVITY]
    status = client.get("/account/session/status")
    assert status.status_code == 200
    body = status.json()
    assert body["signed_in"] is True
    assert 4 * MINUTE < body["seconds_left"] <= 5 * MINUTE
    assert client.session[sessions.LAST_ACTIVITY] == before
    age_session(client, idle=5 * MINUTE + 1)
    assert client.get("/account/session/status").json() == {"signed_in": False, "seconds_left": 0}
    assert client.get("/").status_code == 302


def test_keep_alive_extends_the_session(signed_in: Callable[[User], Client], paula: User) -> None:
    """'Stay signed in' on the warning gives Paula a fresh 15 minutes."""
    client = signed_in(paula)
    age_session(client, idle=14 * MINUTE)
    assert client.post("/account/session/keep-alive").status_code == 200
    assert client.get("/account/session/status").json()["seconds_left"] > 14 * MINUTE


def test_sign_in_post_without_csrf_token_is_refused(paula: User) -> None:
    """A sign-in form posted from another site (no CSRF token) gets 403 and signs nobody in."""
    finish_first_steps(paula)
    client = Client(enforce_csrf_checks=True)
    response = client.post("/account/sign-in/", {"username": "paula", "password": PASSWORD})
    assert response.status_code == 403
    assert "sign_in" not in actions()
    # The same form, fetched from our own page first, works.
    client.get("/account/sign-in/")
    token = client.cookies["csrftoken"].value
    ok = client.post(
        "/account/sign-in/", {"username": "paula", "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert ok.status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "http://evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "https://testserver@evil.example/",
    ],
)
def test_next_to_another_site_is_refused(client: Client, paula: User, target: str) -> None:
    """A link that would send Paula to another site after sign-in takes her home instead."""
    finish_first_steps(paula)
    page = client.get("/account/sign-in/", {"next": target})
    assert "evil.example" not in page_text(page)
    assert "javascript:" not in page_text(page)
    response = client.post("/account/sign-in/", {"username": "paula", "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_next_is_kept_through_the_second_factor(client: Client, dr_diaz: User) -> None:
    """Dr. Diaz, sent to sign in from a page, lands on that page after his code."""
    response = client.post(
        "/account/sign-in/", {"username": "dr.diaz", "password": PASSWORD, "next": "/account/security/"}
    )
    assert response["Location"] == "/account/sign-in/second-step/"

    done = client.post("/account/sign-in/second-step/", {"code": totp_now(dr_diaz)})
    assert done.status_code == 302
    assert done["Location"] == "/account/security/"


def test_sign_out_ends_the_session_and_is_audited(signed_in: Callable[[User], Client], paula: User) -> None:
    """Signing out leaves nothing behind: home asks for sign-in again."""
    client = signed_in(paula)
    response = client.post("/account/sign-out/")
    assert response["Location"] == "/account/sign-in/"
    assert "You are signed out." in page_text(client.get("/account/sign-in/"))
    assert client.get("/").status_code == 302
    assert actions().count("sign_out") == 1


def test_sign_out_by_get_is_not_allowed(signed_in: Callable[[User], Client], paula: User) -> None:
    """A link or image on another page cannot sign Paula out: sign-out needs a POST."""
    client = signed_in(paula)
    assert client.get("/account/sign-out/").status_code == 405
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("referer", "expected_next"),
    [
        ("http://testserver/account/security/?tab=codes", "/account/security/%3Ftab%3Dcodes"),
        ("https://evil.example/account/security/", "/"),
        ("", "/"),
    ],
)
def test_form_sent_after_the_timeout_returns_to_the_page_it_came_from(
    signed_in: Callable[[User], Client], paula: User, referer: str, expected_next: str
) -> None:
    """A form Paula submits after a timeout brings her back to the page she sent it from,
    never to another site named in the Referer."""
    client = signed_in(paula)
    age_session(client, idle=16 * MINUTE)
    response = client.post(
        "/account/security/password/",
        {
            "current_password": PASSWORD,
            "password": "a new one after lunch",
            "password_confirm": "a new one after lunch",
        },
        HTTP_REFERER=referer,
    )
    assert response.status_code == 302
    assert response["Location"] == f"/account/sign-in/?next={expected_next}"
    assert Client().post("/account/sign-in/", {"username": "paula", "password": PASSWORD}).status_code == 302


def test_status_for_someone_signed_out(client: Client) -> None:
    """The timeout poll answers plainly for a visitor who is not signed in."""
    assert client.get("/account/session/status").json() == {"signed_in": False, "seconds_left": 0}
