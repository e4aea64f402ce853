"""First sign-in steps: a patient checks her contact information, then accepts the
conditions of use, before any other page opens.

Paula has been offered the authenticator already (mfa_offered_at), so her
remaining steps are contact and terms. Dr. Diaz, staff, has no such steps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from conftest import PASSWORD, finish_first_steps, sign_in
from portal.accounts.models import TermsAcceptance, TermsVersion, User
from portal.accounts.selectors import current_terms
from portal.accounts.tests.helpers import actions, audit_text, last_link, page_text
from portal.audit.models import AuditEvent
from portal.clinics.models import Patient

Capture = Callable[..., Any]


@pytest.fixture
def paula_new(client: Client, paula: User) -> Client:
    """Paula signed in for the first time; she skipped the authenticator offer already."""
    paula.mfa_offered_at = timezone.now()
    paula.save(update_fields=["mfa_offered_at"])
    assert sign_in(client, paula).status_code == 302
    return client


def accept_terms(client: Client) -> Any:
    terms = current_terms()
    assert terms is not None
    return client.post("/account/terms/", {"version": str(terms.pk), "accept": "yes", "decision": "accept"})


def test_every_page_leads_to_the_pending_step(paula_new: Client) -> None:
    """Until Paula has checked her contact details, home and staff pages send her there."""
    for path in ["/", "/staff/", "/?tab=messages"]:
        response = paula_new.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/account/contact/"
    assert paula_new.get("/help/").status_code == 200  # help stays open
    assert paula_new.get("/account/contact/").status_code == 200


def test_contact_then_terms_then_home(paula_new: Client, paula: User) -> None:
    """Paula confirms her details, then accepts the conditions of use, then reaches home."""
    page = paula_new.get("/account/contact/")
    assert "paula@example.com" in page_text(page)
    assert "555-010-0000" in page_text(page)
    confirmed = paula_new.post("/account/contact/", {"action": "confirm"})
    assert confirmed["Location"] == "/account/terms/"
    assert paula_new.get("/")["Location"] == "/account/terms/"
    accepted = accept_terms(paula_new)
    assert accepted["Location"] == "/"
    assert paula_new.get("/").status_code == 200
    paula.refresh_from_db()
    assert paula.contact_verified_at is not None
    assert actions()[-2:] == ["contact_verified", "terms_accepted"]


def test_terms_acceptance_records_version_time_and_address(paula_new: Client, paula: User) -> None:
    """Accepting the conditions keeps which version, when, and from where."""
    paula_new.post("/account/contact/", {"action": "confirm"})
    before = timezone.now()
    accept_terms(paula_new)
    acceptance = TermsAcceptance.objects.get(user=paula)
    assert acceptance.terms == current_terms()
    assert before <= acceptance.accepted_at <= timezone.now()
    assert acceptance.client_address == "127.0.0.1"
    event = AuditEvent.objects.get(action="terms_accepted")
    assert event.actor_id == paula.pk
    assert event.object_id == str(acceptance.terms_id)


def test_terms_need_the_box_checked(paula_new: Client, paula: User) -> None:
    """Continue without ticking 'I accept' says what to do and records nothing."""
    paula_new.post("/account/contact/", {"action": "confirm"})
    terms = current_terms()
    assert terms is not None
    response = paula_new.post("/account/terms/", {"version": str(terms.pk), "decision": "accept"})
    assert response.status_code == 400
    assert "Check the box to say you accept the conditions of use" in page_text(response)
    assert not TermsAcceptance.objects.filter(user=paula).exists()


def test_declining_the_terms_signs_out(paula_new: Client, paula: User) -> None:
    """'I do not accept' signs Paula out and says why."""
    paula_new.post("/account/contact/", {"action": "confirm"})
    response = paula_new.post("/account/terms/", {"decision": "decline"})
    assert response["Location"] == "/account/sign-in/"
    assert "You need to accept the conditions of use" in page_text(paula_new.get("/account/sign-in/"))
    assert paula_new.get("/").status_code == 302
    assert paula_new.get("/")["Location"].startswith("/account/sign-in/")


def test_new_email_is_used_only_after_its_link_is_followed(
    paula_new: Client, paula: User, django_capture_on_commit_callbacks: Capture
) -> None:
    """Paula types a new address: we keep the old one until she follows the link sent to the new one."""
    with django_capture_on_commit_callbacks(execute=True):
        saved = paula_new.post(
            "/account/contact/",
            {"action": "save", "email": "paula.new@example.com", "mobile_phone": "555-010-0000"},
        )
    assert saved["Location"] == "/account/terms/"
    notice = page_text(paula_new.get("/account/terms/"))
    assert "We sent a confirmation link to paula.new@example.com" in notice
    assert "we keep using paula@example.com" in notice
    assert Patient.objects.get(user=paula).email == "paula@example.com"
    assert [m.to for m in mail.outbox[-2:]] == [["paula.new@example.com"], ["paula@example.com"]]
    # The old address is told a change was asked for, without a link that could confirm it.
    assert "new e-mail address" in mail.outbox[-1].body and "/account/confirm/" not in mail.outbox[-1].body
    link = last_link("paula.new@example.com")
    assert "waiting for you to confirm paula.new@example.com" in page_text(paula_new.get("/account/contact/"))
    paula_new.get(link)  # opening the link does not use it
    assert Patient.objects.get(user=paula).email == "paula@example.com"
    paula_new.post(link)
    assert Patient.objects.get(user=paula).email == "paula.new@example.com"
    assert {"contact_changed", "email_changed"} <= set(actions())
    assert "paula.new" not in audit_text()


def test_email_change_link_expires(
    paula_new: Client, paula: User, django_capture_on_commit_callbacks: Capture
) -> None:
    """An e-mail change link followed after it expired changes nothing."""
    from portal.accounts.models import EmailLink

    with django_capture_on_commit_callbacks(execute=True):
        paula_new.post(
            "/account/contact/", {"action": "save", "email": "paula.new@example.com", "mobile_phone": ""}
        )
    EmailLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert paula_new.post(last_link("paula.new@example.com")).status_code == 410
    assert Patient.objects.get(user=paula).email == "paula@example.com"


@pytest.mark.parametrize(
    ("typed", "text"),
    [
        ("12345", "Enter a 10-digit mobile number, like 555-555-0123."),
        ("555-010-00000", "Enter a 10-digit mobile number, like 555-555-0123."),
        ("+44 12", "An international number has 8 to 15 digits after the +."),
    ],
)
def test_invalid_phone_gets_a_specific_message_and_is_kept(
    paula_new: Client, paula: User, typed: str, text: str
) -> None:
    """A phone number that cannot be right is refused with what to fix; what Paula typed stays."""
    response = paula_new.post(
        "/account/contact/", {"action": "save", "email": "paula.typo@example.com", "mobile_phone": typed}
    )
    assert response.status_code == 400
    page = page_text(response)
    assert text in page
    assert f'value="{typed}"' in page
    assert 'value="paula.typo@example.com"' in page
    patient = Patient.objects.get(user=paula)
    assert patient.mobile_phone == "555-010-0000"
    paula.refresh_from_db()
    assert paula.contact_verified_at is None


def test_phone_is_saved_in_one_form(paula_new: Client, paula: User) -> None:
    """'(555) 010 7777' and '+1 555 010 7777' are saved as 555-010-7777, and the change is audited."""
    paula_new.post(
        "/account/contact/",
        {"action": "save", "email": "paula@example.com", "mobile_phone": "+1 (555) 010 7777"},
    )
    assert Patient.objects.get(user=paula).mobile_phone == "555-010-7777"
    event = AuditEvent.objects.get(action="contact_changed")
    assert event.details == {"email_pending": False, "phone_changed": True}
    assert "555-010-7777" not in audit_text()


def test_new_terms_are_asked_at_next_sign_in_not_mid_session(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """Publishing new conditions does not interrupt Paula; her next sign-in asks her to accept them."""
    client = signed_in(paula)
    assert client.get("/").status_code == 200
    newer = TermsVersion.objects.create(version="2027.1", title="Conditions of use", text="New conditions.")
    assert current_terms() == newer
    assert client.get("/").status_code == 200  # not mid-session
    client.post("/account/sign-out/")
    client.post("/account/sign-in/", {"username": "paula", "password": PASSWORD})
    assert client.get("/")["Location"] == "/account/terms/"
    page = page_text(client.get("/account/terms/"))
    assert "Version 2027.1" in page
    assert accept_terms(client)["Location"] == "/"
    assert set(TermsAcceptance.objects.filter(user=paula).values_list("terms__version", flat=True)) == {
        "2026.1",
        "2027.1",
    }


def test_terms_changed_while_reading_are_shown_again(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """If new conditions appear while Paula reads the old ones, accepting the old ones is refused."""
    finish_first_steps(paula)
    client = Client()
    sign_in(client, paula)
    old = current_terms()
    assert old is not None
    TermsVersion.objects.create(version="2027.1", title="Conditions of use", text="New conditions.")
    response = client.post("/account/terms/", {"version": str(old.pk), "accept": "yes", "decision": "accept"})
    assert response.status_code == 400
    assert "The conditions of use changed while you were reading" in page_text(response)
    assert not TermsAcceptance.objects.filter(user=paula, terms__version="2027.1").exists()


def test_terms_published_for_later_are_not_asked_yet(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """Conditions scheduled for next month are not asked for today."""
    TermsVersion.objects.create(
        version="2027.2",
        title="Conditions of use",
        text="Later.",
        published_at=timezone.now() + timedelta(days=30),
    )
    client = signed_in(paula)
    assert client.get("/").status_code == 200


def test_contact_details_are_checked_again_after_a_year(client: Client, paula: User) -> None:
    """A year after Paula last confirmed them, she is asked to check her details again."""
    finish_first_steps(paula)
    paula.contact_verified_at = timezone.now() - timedelta(days=366)
    paula.save(update_fields=["contact_verified_at"])
    sign_in(client, paula)
    assert client.get("/")["Location"] == "/account/contact/"


def test_staff_have_no_first_steps(signed_in: Callable[[User], Client], dr_diaz: User) -> None:
    """Dr. Diaz goes straight to the staff pages: the patient steps are not his."""
    client = Client()
    sign_in(client, dr_diaz)
    response = client.get("/")
    assert response.status_code == 302
    assert not response["Location"].startswith("/account/")
