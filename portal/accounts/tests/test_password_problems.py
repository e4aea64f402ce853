"""All of a password's problems at once: registration, password change and reset.

A password that is too short, common and the username gets every rule's message together
(not the first one, then the next after another try), in the error summary at the top and
under the field, beside the other fields' problems.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.test import Client
from django.utils.html import escape

from conftest import PASSWORD
from portal.accounts.models import User
from portal.accounts.tests.helpers import last_link, page_text
from portal.clinics.models import Patient

SHORT = "Use at least 12 characters; this password has"
COMMON = "This password is too common"
IS_USERNAME = "Your password cannot be your username."
CONTAINS_USERNAME = "Your password cannot contain your username."
MISMATCH = "The two passwords are not the same. Type them again."


def summary(response: Any) -> list[str]:
    page = page_text(response)
    assert "data-error-summary" in page, page[:2000]
    block = page.split("data-error-summary>", 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<a href="#([^"]+)">([^<]*)</a>', block)


def field_error(response: Any, field: str) -> str:
    found = re.search(rf'id="id_{field}-error"[^>]*>(.*?)</span>\s*<input', page_text(response), re.S)
    assert found, field
    return found.group(1)


def test_registration_names_every_problem_at_once(client: Client, rosa: Patient) -> None:
    proved = client.post(
        "/account/register/",
        {
            "dod_id": "9900000005",
            "birth_date": "09/14/1975",
            "last_name": "Marsh",
        },
    )
    assert proved["Location"] == "/account/register/account/"
    response = client.post(
        "/account/register/account/",
        {
            "username": "password",
            "email": "not an address",
            "password": "password",
            "password_confirm": "other",
        },
    )
    assert response.status_code == 400
    listed = summary(response)
    targets = [target for target, _ in listed]
    assert targets.count("id_password") == 3  # too short, common, the username: together
    messages = " ".join(message for _, message in listed)
    for words in (SHORT, escape(COMMON), escape(IS_USERNAME), escape(MISMATCH), "Enter an e-mail address"):
        assert words in messages, words
    under = field_error(response, "password")
    assert SHORT in under and escape(COMMON) in under and escape(IS_USERNAME) in under
    assert 'value="not an address"' in page_text(response)  # what she typed stays


def test_registration_password_containing_an_invalid_username_is_still_checked(
    client: Client, rosa: Patient
) -> None:
    client.post(
        "/account/register/",
        {
            "dod_id": "9900000005",
            "birth_date": "09/14/1975",
            "last_name": "Marsh",
        },
    )
    response = client.post(
        "/account/register/account/",
        {
            "username": "ro sa",
            "email": "rosa@example.com",
            "password": "ro sa sings all day",
            "password_confirm": "",
        },
    )
    messages = " ".join(message for _, message in summary(response))
    assert "no spaces" in messages
    assert escape(CONTAINS_USERNAME) in messages


def test_password_change_names_every_problem_at_once(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    client = signed_in(paula)
    response = client.post(
        "/account/security/password/",
        {"current_password": "wrong", "password": "paula", "password_confirm": "paula2"},
    )
    assert response.status_code == 400
    messages = " ".join(message for _, message in summary(response))
    for words in ("Your current password is not right.", SHORT, escape(IS_USERNAME), escape(MISMATCH)):
        assert words in messages, words


def test_reset_names_every_problem_at_once(
    client: Client, paula: User, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/account/password-reset/", {"username": "paula"})
    link = last_link("paula@example.com")
    page = client.get(link)
    target = page["Location"] if page.status_code == 302 else link
    response = client.post(target, {"password": "password", "password_confirm": "password"})
    assert response.status_code == 400
    under = field_error(response, "password")
    assert SHORT in under and escape(COMMON) in under
    assert [t for t, _ in summary(response)] == ["id_password", "id_password"]
    assert Client().post("/account/sign-in/", {"username": "paula", "password": PASSWORD}).status_code == 302
