"""Password rules: 12 to 128 characters of anything, checked as typed, no composition
rules, no common or breached passwords, not the username; stored with Argon2id.

Paula is a signed-in patient who changes her password on Account security.
"""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils.html import escape

from conftest import PASSWORD, finish_first_steps
from portal.accounts.models import User
from portal.accounts.tests.helpers import page_text

CHANGE = "/account/security/password/"


def change_password(
    client: Client, new: str, *, confirm: str | None = None, current: str = PASSWORD
) -> object:
    return client.post(
        CHANGE,
        {
            "current_password": current,
            "password": new,
            "password_confirm": new if confirm is None else confirm,
        },
    )


def signs_in(username: str, password: str) -> bool:
    fresh = Client()
    return fresh.post("/account/sign-in/", {"username": username, "password": password}).status_code == 302


@pytest.fixture
def paula_client(signed_in: Callable[[User], Client], paula: User) -> Client:
    return signed_in(paula)


def test_eleven_characters_are_refused_with_the_count(paula_client: Client, paula: User) -> None:
    """An 11-character password is refused, and the page says how long it was and what is needed."""
    response = change_password(paula_client, "short words")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "Use at least 12 characters; this password has 11." in page_text(response)
    assert signs_in("paula", PASSWORD)


def test_twelve_and_one_hundred_twenty_eight_characters_are_accepted(client: Client, paula: User) -> None:
    """The limits are inclusive: exactly 12 and exactly 128 characters both work."""
    finish_first_steps(paula)
    for new in ("twelve chars", "x" * 59 + " a long passphrase " + "y" * 50):
        assert len(new) in (12, 128)
        client.post("/account/sign-in/", {"username": "paula", "password": PASSWORD})
        response = change_password(client, new)
        assert response.status_code == 302, page_text(response)  # type: ignore[arg-type]
        assert signs_in("paula", new)
        paula.set_password(PASSWORD)
        paula.save()
        client.logout()


def test_one_hundred_twenty_nine_characters_are_refused(paula_client: Client) -> None:
    """Past 128 characters the page says so, with the count: nothing is cut off silently."""
    response = change_password(paula_client, "m" * 129)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "Use at most 128 characters; this password has 129." in page_text(response)


@pytest.mark.parametrize(
    "new",
    [
        "a quiet pond at dusk",  # spaces, lowercase only: no composition rules
        "🐢🐢 slow and steady 🐢🐢",  # emoji
        "пароль для портала",  # Cyrillic
        "   leading and trailing   ",  # spaces at either end are part of it
        "meadowlarksingatdawn",  # no digit, no capital, no symbol
    ],
)
def test_any_characters_are_allowed_and_work_exactly_as_typed(paula_client: Client, new: str) -> None:
    """Spaces, emoji and letters of any alphabet are fine; no digit or symbol is demanded."""
    response = change_password(paula_client, new)
    assert response.status_code == 302, page_text(response)  # type: ignore[arg-type]
    assert signs_in("paula", new)
    if new != new.strip():
        assert not signs_in("paula", new.strip())


def test_emoji_count_as_one_character_each(paula_client: Client) -> None:
    """Ten emoji and two letters make 12 characters, which is long enough."""
    response = change_password(paula_client, "🌵" * 10 + "ok")
    assert response.status_code == 302, page_text(response)  # type: ignore[arg-type]
    assert signs_in("paula", "🌵" * 10 + "ok")


def test_long_password_is_not_truncated(paula_client: Client) -> None:
    """A 100-character password that differs only in its last character does not sign in."""
    new = "b" * 20 + " the long road home " * 4
    new = new[:99] + "1"
    assert len(new) == 100
    assert change_password(paula_client, new).status_code == 302  # type: ignore[attr-defined]
    assert signs_in("paula", new)
    assert not signs_in("paula", new[:99] + "2")
    assert not signs_in("paula", new[:99])
    assert not signs_in("paula", new[:72])


def test_same_password_in_another_unicode_form_signs_in(paula_client: Client) -> None:
    """Paula's phone types é as one character, her laptop as e plus an accent: both work."""
    composed = unicodedata.normalize("NFC", "café au lait, s'il vous plaît")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert change_password(paula_client, composed).status_code == 302  # type: ignore[attr-defined]
    assert signs_in("paula", decomposed)


@pytest.mark.parametrize(
    "common",
    ["correct horse battery staple", "Password1234", "iloveyou1234", "123456789012", "CHANGEME1234"],
)
def test_common_or_breached_passwords_are_refused(paula_client: Client, common: str) -> None:
    """A password from lists known to attackers is refused, whatever its capitals."""
    response = change_password(paula_client, common)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "This password is too common" in page_text(response)
    assert signs_in("paula", PASSWORD)


def test_password_equal_to_username_is_refused(client: Client, paula: User) -> None:
    """'Paula.Quill.1986' may not be the password of the user 'paula.quill.1986'."""
    paula.username = "paula.quill.1986"
    paula.save(update_fields=["username"])
    finish_first_steps(paula)
    client.post("/account/sign-in/", {"username": "paula.quill.1986", "password": PASSWORD})
    response = change_password(client, "Paula.Quill.1986")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "Your password cannot be your username." in page_text(response)
    assert "too common" not in page_text(response)


def test_wrong_current_password_and_mismatch_each_get_their_reason(paula_client: Client) -> None:
    """Each mistake gets its own message, next to its own field."""
    wrong = change_password(paula_client, "a brand new meadow", current="not my password")
    assert "Your current password is not right." in page_text(wrong)
    mismatch = change_password(paula_client, "a brand new meadow", confirm="a brand new meadoW")
    assert escape("The two passwords are not the same. Type them again.") in page_text(mismatch)
    assert signs_in("paula", PASSWORD)


def test_stored_password_is_an_argon2id_hash(paula: User) -> None:
    """The database holds an Argon2id hash, never the password."""
    paula.refresh_from_db()
    assert paula.password.startswith("argon2$argon2id$")
    assert PASSWORD not in paula.password


def test_production_hasher_is_argon2id() -> None:
    """Outside the test suite the first hasher is Django's Argon2 hasher, producing Argon2id."""
    root = Path(settings.BASE_DIR)
    env = {**os.environ, "PORTAL_ENV": "development", "PORTAL_VAR_DIR": str(root / "var")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; django.setup();"
            "from django.conf import settings; print(settings.PASSWORD_HASHERS[0])",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert Argon2PasswordHasher().encode("x" * 12, "saltsaltsalt").startswith("argon2$argon2id$")


@pytest.mark.parametrize(
    "password",
    [
        "jonahjonah12",
        "my name is Jonah ok",
        "JONAH-2026-spring",
        "ＪＯＮＡＨ likes long walks",
        "the song of jonah",
    ],
)
def test_password_containing_the_username_is_refused(password: str) -> None:
    """'jonahjonah12' for the user 'jonah' is refused like 'jonah' itself, whatever the case or width."""
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user=User(username="Jonah"))
    assert [error.code for error in refused.value.error_list] == ["password_contains_username"]
    assert "cannot contain your username" in refused.value.messages[0]


def test_password_containing_the_username_is_refused_on_the_page(client: Client, paula: User) -> None:
    """Changing Paula's password to one built on 'paula' gives the reason and keeps the old one."""
    finish_first_steps(paula)
    client.post("/account/sign-in/", {"username": "paula", "password": PASSWORD})
    response = change_password(client, "paulapaula2026")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "Your password cannot contain your username." in page_text(response)
    assert signs_in("paula", PASSWORD)


def test_password_merely_like_the_username_is_allowed() -> None:
    """Only the whole username counts: 'jona' in a password is no reason to refuse it for 'jonah'."""
    validate_password("jona and the quiet meadow", user=User(username="jonah"))
