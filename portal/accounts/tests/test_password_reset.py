"""Password reset by e-mailed link, and password change while signed in.

Paula forgot her password. The reset page says the same whether or not a
username exists; the link works once, for one hour; using it ends every other
session of hers. Changing a password while signed in ends the other sessions
too, but keeps the one she is using.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from conftest import PASSWORD, finish_first_steps
from portal.accounts.models import EmailLink, User
from portal.accounts.tests.helpers import actions, audit_text, last_link, page_text
from portal.audit.models import AuditEvent

NEW = "the river runs quietly"
Capture = Callable[..., Any]


def request_reset(client: Client, capture: Capture, username: str) -> Any:
    with capture(execute=True):
        return client.post("/account/password-reset/", {"username": username})


def without_tokens(page: str) -> str:
    return re.sub(r'(value|nonce|content)="[A-Za-z0-9_\-+/=]{20,}"', "", page)


def signs_in(username: str, password: str) -> bool:
    return Client().post("/account/sign-in/", {"username": username, "password": password}).status_code == 302


def test_same_page_whether_or_not_the_username_exists(
    client: Client, paula: User, django_capture_on_commit_callbacks: Capture
) -> None:
    """Asking a reset for 'paula' and for 'nobody' shows the very same page; only Paula gets mail."""
    known = request_reset(client, django_capture_on_commit_callbacks, "paula")
    unknown = request_reset(Client(), django_capture_on_commit_callbacks, "nobody")
    assert known.status_code == unknown.status_code == 200
    assert without_tokens(page_text(known)) == without_tokens(page_text(unknown))
    assert "If an account with that username exists" in page_text(known)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["paula@example.com"]
    outcomes = AuditEvent.objects.filter(action="password_reset_requested").values_list("outcome", flat=True)
    assert sorted(outcomes) == ["failure", "success"]


def test_reset_mail_holds_a_link_that_works_for_one_hour(
    client: Client, paula: User, django_capture_on_commit_callbacks: Capture
) -> None:
    """The e-mail carries one link, good for 60 minutes, and says a code is still needed."""
    request_reset(client, django_capture_on_commit_callbacks, "Paula")  # any capitals
    body = str(mail.outbox[0].body)
    assert "60 minutes" in body
    assert last_link().startswith("/account/password-reset/")
    row = EmailLink.objects.get(purpose=EmailLink.Purpose.PASSWORD_RESET)
    assert abs(row.expires_at - row.created_at - timedelta(hours=1)) < timedelta(seconds=1)
    assert "Quill" not in body  # no more about Paula than needed


def test_reset_sets_the_new_password(
    client: Client, paula: User, django_capture_on_commit_callbacks: Capture
) -> None:
    """After the reset, the new password works and the old one does not."""
    finish_first_steps(paula)
    request_reset(client, django_capture_on_commit_callbacks, "paula")
    link = last_link()
    assert client.get(link).status_code == 200
    assert client.get(link).status_code == 200  # opening it does not use it
    done = client.post(link, {"password": NEW, "password_confirm": NEW})
    assert done["Location"] == "/account/sign-in/"
    assert "Your password is changed and every other session is signed out" in page_text(
        client.get(done["Location"])
    )
    assert signs_in("paula", NEW)
    assert not signs_in("paula", PASSWORD)
    assert "password_reset" in actions()
    assert NEW not in audit_text()


def test_reset_link_works_once(
    client: Client, paula: User, django_capture_on_commit_callbacks: Capture
) -> None:
    """Used once, the link then says so and offers a new one."""
    request_reset(client, django_capture_on_commit_callbacks, "paula")
    link = last_link()
    client.post(link, {"password": NEW, "password_confirm": NEW})
    again = client.post(
        link, {"password": "someone else's choice", "password_confirm": "someone else's choice"}
    )
    assert again.status_code == 410
    assert "This link was already used." in page_text(again)
    assert "Send me a new reset link" in page_text(again)
    assert signs_in("paula", NEW)


def test_reset_link_expires_after_one_hour(
    client: Client, paula: User, django_capture_on_commit_callbacks: Capture
) -> None:
    """An hour later the link no longer changes the password."""
    request_reset(client, django_capture_on_commit_callbacks, "paula")
    EmailLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(last_link(), {"password": NEW, "password_confirm": NEW})
    assert response.status_code == 410
    assert "This link has expired." in page_text(response)
    assert signs_in("paula", PASSWORD)


def test_a_newer_reset_link_retires_the_older_one(
    client: Client, paula: User, django_capture_on_commit_callbacks: Capture
) -> None:
    """Asking twice: only the newest link works."""
    request_reset(client, django_capture_on_commit_callbacks, "paula")
    first = last_link()
    request_reset(client, django_capture_on_commit_callbacks, "paula")
    second = last_link()
    assert client.post(first, {"password": NEW, "password_confirm": NEW}).status_code == 410
    assert client.post(second, {"password": NEW, "password_confirm": NEW}).status_code == 302


def test_rejected_new_password_keeps_the_link_usable(
    client: Client, paula: User, django_capture_on_commit_callbacks: Capture
) -> None:
    """A too-short or common new password is refused with its reason; the link still works after."""
    request_reset(client, django_capture_on_commit_callbacks, "paula")
    link = last_link()
    short = client.post(link, {"password": "too short", "password_confirm": "too short"})
    assert short.status_code == 400
    assert "Use at least 12 characters; this password has 9." in page_text(short)
    common = client.post(link, {"password": "Password1234", "password_confirm": "Password1234"})
    assert "This password is too common" in page_text(common)
    same = client.post(link, {"password": "paula", "password_confirm": "paula"})
    assert "Your password cannot be your username." in page_text(same)
    mismatch = client.post(link, {"password": NEW, "password_confirm": NEW + "!"})
    assert escape("The two passwords are not the same.") in page_text(mismatch)
    assert client.post(link, {"password": NEW, "password_confirm": NEW}).status_code == 302


def test_reset_signs_out_every_other_session(
    signed_in: Callable[[User], Client], paula: User, django_capture_on_commit_callbacks: Capture
) -> None:
    """Someone signed in as Paula elsewhere is signed out once she resets her password."""
    intruder = signed_in(paula)
    assert intruder.get("/").status_code == 200
    paula_now = Client()
    request_reset(paula_now, django_capture_on_commit_callbacks, "paula")
    paula_now.post(last_link(), {"password": NEW, "password_confirm": NEW})
    ended = intruder.get("/account/security/")
    assert ended.status_code == 302
    assert ended["Location"].startswith("/account/sign-in/")
    assert "signed out because your password" in page_text(intruder.get(ended["Location"]))
    assert "session_revoked" in actions()


def test_password_change_signs_out_other_sessions_but_keeps_this_one(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """Paula changes her password on her laptop: her phone is signed out, the laptop stays."""
    finish_first_steps(paula)
    phone = Client()
    phone.post("/account/sign-in/", {"username": "paula", "password": PASSWORD})
    laptop = signed_in(paula)
    assert phone.get("/").status_code == 200
    changed = laptop.post(
        "/account/security/password/",
        {"current_password": PASSWORD, "password": NEW, "password_confirm": NEW},
    )
    assert changed["Location"] == "/account/security/"
    assert "Every other session was signed out" in page_text(laptop.get("/account/security/"))
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    assert phone.get("/").status_code == 302  # and it stays out
    assert signs_in("paula", NEW)
    assert "password_changed" in actions()
    assert NEW not in audit_text()
    assert PASSWORD not in audit_text()


def test_password_change_needs_the_current_password(signed_in: Callable[[User], Client], paula: User) -> None:
    """Someone at Paula's unlocked computer cannot change her password without knowing it."""
    client = signed_in(paula)
    response = client.post(
        "/account/security/password/",
        {"current_password": "a guess at hers", "password": NEW, "password_confirm": NEW},
    )
    assert response.status_code == 400
    assert "Your current password is not right." in page_text(response)
    assert signs_in("paula", PASSWORD)


def test_reset_requests_cannot_flood_a_persons_inbox(
    client: Client, paula: User, django_capture_on_commit_callbacks: Any
) -> None:
    """After five reset e-mails in an hour, more requests send nothing; the page says the same."""
    from django.core import mail

    mail.outbox = []
    for _ in range(8):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/account/password-reset/", {"username": "paula"})
        assert b"If an account with that username exists" in response.content
    assert len(mail.outbox) == 5
