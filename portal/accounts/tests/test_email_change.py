"""A new e-mail address: confirmed only in a session of the same account; the old address
can cancel the change for days; a password reset meanwhile goes to the old address.

Paula (paula@example.com) changes her address to paula.new@example.com. Eve is another
patient: Paula's link does nothing in Eve's session. A thief who holds Paula's session
is the person the old address's link is for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD, finish_first_steps, sign_in
from portal.accounts.models import EmailLink, User
from portal.accounts.tests.helpers import actions, audit_text, last_link, link_paths, page_text
from portal.audit.models import AuditEvent
from portal.clinics.models import Patient

Capture = Callable[..., Any]
NEW = "paula.new@example.com"
OLD = "paula@example.com"
HEALTH_WORDS = re.compile(r"health|medical|diagnos|result|prescription|appointment|clinic|care team", re.I)


@pytest.fixture
def paula_client(signed_in: Callable[[User], Client], paula: User) -> Client:
    return signed_in(paula)


@pytest.fixture
def send(django_capture_on_commit_callbacks: Capture) -> Callable[..., Any]:
    """Run a request and deliver the e-mails it queues."""

    def _send(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return _send


def ask_for_change(client: Client, send: Callable[..., Any], email: str = NEW) -> str:
    """Paula saves a new address; returns the path of the link sent to it."""
    response = send(client.post, "/account/contact/", {"action": "save", "email": email, "mobile_phone": ""})
    assert response.status_code == 302, page_text(response)
    return last_link(email)


def email_of(user: User) -> str:
    return Patient.objects.get(user=user).email


def mails_to(address: str) -> list[Any]:
    return [m for m in mail.outbox if address in m.to]


# --- The new address's link --------------------------------------------------------------------


def test_signed_out_the_link_asks_to_sign_in_first(
    paula_client: Client, paula: User, send: Callable[..., Any]
) -> None:
    link = ask_for_change(paula_client, send)
    browser = Client()  # the link opened in the mail app's browser, signed out
    opened = browser.get(link)
    assert opened.status_code == 302 and opened["Location"].startswith("/account/sign-in/?next=")
    assert "Sign in to confirm your new e-mail address" in page_text(browser.get(opened["Location"]))
    assert browser.post(link)["Location"].startswith("/account/sign-in/")
    assert email_of(paula) == OLD  # neither the GET nor the POST changed anything
    signed = browser.post(opened["Location"], {"username": "paula", "password": PASSWORD})
    assert signed["Location"] == link  # back to the link
    assert "Confirm that <strong>paula.new@example.com</strong> is your new e-mail address" in page_text(
        browser.get(link)
    )
    done = send(browser.post, link)
    assert done["Location"] == "/account/contact/"
    assert email_of(paula) == NEW
    assert "email_changed" in actions()


def test_signed_in_as_someone_else_the_link_is_refused(
    paula_client: Client,
    paula: User,
    eve: User,
    send: Callable[..., Any],
    signed_in: Callable[[User], Client],
) -> None:
    link = ask_for_change(paula_client, send)
    eves = Client()
    finish_first_steps(eve)
    sign_in(eves, eve)
    for response in (eves.get(link), eves.post(link)):
        assert response.status_code == 403
        assert "another account than the one signed in here. Nothing was changed." in page_text(response)
    assert email_of(paula) == OLD
    assert email_of(eve) == "eve@example.com"
    refused = AuditEvent.objects.filter(action="email_change_confirm_refused").last()
    assert refused is not None
    assert (refused.actor_id, refused.object_id, refused.outcome) == (
        eve.pk,
        str(paula.pk),
        AuditEvent.Outcome.DENIED,
    )
    # The link still works for Paula.
    send(paula_client.post, link)
    assert email_of(paula) == NEW


def test_registration_links_still_work_signed_out(
    client: Client, paula: User, send: Callable[..., Any]
) -> None:
    """Confirming a brand-new account is done before any session can exist."""
    from portal.accounts import links

    paula.email_confirmed_at = None
    paula.save(update_fields=["email_confirmed_at"])
    token = links.issue_link(
        user=paula, purpose=EmailLink.Purpose.REGISTRATION, email=OLD, lifetime=timedelta(hours=1)
    )
    assert client.post(f"/account/confirm/{token}/")["Location"] == "/account/sign-in/"
    paula.refresh_from_db()
    assert paula.email_confirmed_at is not None


# --- The old address is told, and can cancel --------------------------------------------------


def test_the_old_address_is_told_with_a_link_that_cancels(
    paula_client: Client, paula: User, send: Callable[..., Any], settings: Any
) -> None:
    settings.PORTAL_EMAIL_CHANGE_CANCEL_DAYS = 5
    link = ask_for_change(paula_client, send)
    send(paula_client.post, link)
    told = mails_to(OLD)[-1]
    assert told.subject == "The e-mail address of your MHS Patient Portal account was changed"
    assert "works for 5 days" in told.body
    assert NEW not in told.body  # the new address is not shown to whoever reads the old one
    (cancel,) = link_paths(told)
    assert cancel.startswith("/account/email-change/cancel/")
    for part in (told.body, told.alternatives[0][0]):
        assert not HEALTH_WORDS.search(part), part
    cancel_link = EmailLink.objects.get(
        purpose=EmailLink.Purpose.EMAIL_CHANGE_CANCEL, expires_at__gt=timezone.now()
    )
    assert abs(cancel_link.expires_at - cancel_link.created_at - timedelta(days=5)) < timedelta(seconds=1)
    assert cancel_link.email == OLD


def test_cancelling_restores_the_address_and_signs_out_everywhere(
    paula_client: Client, paula: User, send: Callable[..., Any], signed_in: Callable[[User], Client]
) -> None:
    """The thief changed the address from Paula's session; Paula, signed out, cancels from her old inbox."""
    link = ask_for_change(paula_client, send, "thief@example.net")
    send(paula_client.post, link)
    assert email_of(paula) == "thief@example.net"
    send(paula_client.post, "/account/password-reset/", {"username": "paula"})  # a reset waits, too
    cancel = link_paths(mails_to(OLD)[-2])[0]  # the change notice (the newest is the reset link)
    owner = Client()
    page = owner.get(cancel)
    assert "Cancel the change and sign out everywhere" in page_text(page)
    assert email_of(paula) == "thief@example.net"  # opening it does nothing
    done = owner.post(cancel)
    assert done.status_code == 200
    assert "every session of your account is signed out" in page_text(done)
    assert email_of(paula) == OLD
    assert paula_client.get("/account/security/")["Location"].startswith("/account/sign-in/")
    assert not EmailLink.objects.filter(
        purpose=EmailLink.Purpose.PASSWORD_RESET, used_at__isnull=True, expires_at__gt=timezone.now()
    ).exists()
    event = AuditEvent.objects.filter(action="email_change_cancelled").last()
    assert event is not None and event.details == {"restored": True, "links_retired": 1}
    assert owner.post(cancel).status_code == 410  # once
    assert "thief" not in audit_text()


def test_cancelling_a_change_not_yet_confirmed_kills_its_link(
    paula_client: Client, paula: User, send: Callable[..., Any]
) -> None:
    link = ask_for_change(paula_client, send, "thief@example.net")
    cancel = last_link(OLD)  # told at once, before any confirmation
    assert Client().post(cancel).status_code == 200
    assert email_of(paula) == OLD
    sign_in(paula_client, paula)
    assert paula_client.post(link).status_code == 410
    assert email_of(paula) == OLD


def test_the_cancel_link_expires(paula_client: Client, paula: User, send: Callable[..., Any]) -> None:
    send(paula_client.post, ask_for_change(paula_client, send))
    cancel = link_paths(mails_to(OLD)[-1])[0]
    EmailLink.objects.filter(purpose=EmailLink.Purpose.EMAIL_CHANGE_CANCEL).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert Client().post(cancel).status_code == 410
    assert email_of(paula) == NEW


# --- A password reset within days of a change ----------------------------------------------------


def test_a_reset_soon_after_a_change_goes_to_the_old_address(
    paula_client: Client, paula: User, send: Callable[..., Any]
) -> None:
    """The attack: a thief with Paula's session changes her address, then asks for a reset."""
    send(paula_client.post, ask_for_change(paula_client, send, "thief@example.net"))
    mail.outbox.clear()
    page = send(Client().post, "/account/password-reset/", {"username": "paula"})
    assert page.status_code == 200
    reset, notice = mails_to(OLD), mails_to("thief@example.net")
    assert len(reset) == 1 and link_paths(reset[0])[0].startswith("/account/password-reset/")
    assert len(notice) == 1 and link_paths(notice[0]) == []
    assert "we sent the reset link to the previous address" in notice[0].body
    assert not HEALTH_WORDS.search(notice[0].body)
    event = AuditEvent.objects.filter(action="password_reset_requested").last()
    assert event is not None and event.details == {"to_previous_address": True}


def test_after_the_window_a_reset_goes_to_the_new_address(
    paula_client: Client, paula: User, send: Callable[..., Any], settings: Any
) -> None:
    send(paula_client.post, ask_for_change(paula_client, send))
    User.objects.filter(pk=paula.pk).update(
        email_changed_at=timezone.now() - timedelta(days=settings.PORTAL_EMAIL_CHANGE_CANCEL_DAYS, seconds=1)
    )
    mail.outbox.clear()
    send(Client().post, "/account/password-reset/", {"username": "paula"})
    assert [m.to for m in mail.outbox] == [[NEW]]


def test_two_changes_in_a_row_keep_the_first_address_for_resets(
    paula_client: Client, paula: User, send: Callable[..., Any]
) -> None:
    send(paula_client.post, ask_for_change(paula_client, send, "second@example.net"))
    send(paula_client.post, ask_for_change(paula_client, send, "third@example.net"))
    mail.outbox.clear()
    send(Client().post, "/account/password-reset/", {"username": "paula"})
    assert link_paths(mails_to(OLD)[0])[0].startswith("/account/password-reset/")
    assert mails_to("second@example.net") == []


def test_the_reset_link_sent_to_the_old_address_works(
    paula_client: Client, paula: User, send: Callable[..., Any]
) -> None:
    send(paula_client.post, ask_for_change(paula_client, send))
    send(Client().post, "/account/password-reset/", {"username": "paula"})
    owner = Client()
    link = last_link(OLD)
    new_password = "a different quiet meadow"
    assert owner.post(link, {"password": new_password, "password_confirm": new_password}).status_code == 302
    assert (
        Client().post("/account/sign-in/", {"username": "paula", "password": new_password}).status_code == 302
    )
    assert Client().post("/account/sign-in/", {"username": "paula", "password": PASSWORD}).status_code == 400
