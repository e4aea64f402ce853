"""The help page, its download, and who may open the operator console."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest
from django.test import Client

from conftest import PASSWORD, finish_first_steps, totp_now
from portal.accounts.models import User
from portal.core.faq import QUESTIONS

SIGN_IN_FOR_OPERATOR = "/account/sign-in/?next=/operator/"


@pytest.mark.django_db
def test_help_lists_every_question_and_answer(client: Client) -> None:
    response = client.get("/help/")
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    for question in QUESTIONS:
        assert question.question in page
        assert question.answer in page
        assert f'id="faq-{question.slug}"' in page
    assert 'href="/help/portal-help.txt"' in page


def test_help_is_open_to_signed_in_people_too(signed_in: Callable[[User], Client], paula: User) -> None:
    response = signed_in(paula).get("/help/")
    assert response.status_code == 200
    assert QUESTIONS[0].question in html.unescape(response.content.decode())


@pytest.mark.django_db
def test_help_download_is_a_plain_text_attachment_with_every_question(client: Client) -> None:
    response = client.get("/help/portal-help.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="portal-help.txt"'
    text = response.content.decode()
    assert text.startswith("MHS Patient Portal: frequently asked questions")
    for number, question in enumerate(QUESTIONS, start=1):
        assert f"{number}. {question.question}" in text
        assert question.answer in text
    # Plain text, not escaped HTML: "What now?" and apostrophes read as typed.
    assert "&#x27;" not in text and "&amp;" not in text and "<" not in text


@pytest.mark.django_db
def test_help_pages_answer_get_only(client: Client) -> None:
    assert client.post("/help/").status_code == 405
    assert client.post("/help/portal-help.txt").status_code == 405


def test_faq_slugs_are_unique() -> None:
    slugs = [question.slug for question in QUESTIONS]
    assert len(slugs) == len(set(slugs))


@pytest.mark.django_db
def test_healthz_answers_ok(client: Client) -> None:
    """Once the jobs loop has beaten (core.heartbeat); see test_outages.py for the failing checks."""
    from portal.core import health, jobs

    jobs.run(jobs.get(health.HEARTBEAT_JOB))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


# --- the operator console -------------------------------------------------------------------------


def test_a_verified_administrator_opens_the_operator_console(
    signed_in: Callable[[User], Client], admin_adams: User
) -> None:
    response = signed_in(admin_adams).get("/operator/")
    assert response.status_code == 200
    assert b"Patient Portal operator console" in response.content


def test_the_consoles_log_out_is_the_portals_sign_out(
    signed_in: Callable[[User], Client], admin_adams: User
) -> None:
    """Log out in the console signs out the portal's way: audited, and back to the portal's sign-in."""
    from django.urls import reverse

    from portal.audit.models import AuditEvent

    client = signed_in(admin_adams)
    response = client.post(reverse("operator:logout"))
    assert response.status_code == 302 and response["Location"] == "/account/sign-in/"
    assert AuditEvent.objects.filter(action="sign_out", actor_id=admin_adams.pk).exists()
    assert client.get("/operator/").status_code == 302


def _ends_at(client: Client, path: str) -> tuple[int, str]:
    """Follow redirects (at most five, so a loop fails the test); the final status and path."""
    response = client.get(path)
    for _ in range(5):
        if response.status_code != 302:
            return response.status_code, path
        path = response["Location"]
        response = client.get(path)
    raise AssertionError(f"redirect loop ending at {path}")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/operator/", "/operator/password_change/", "/operator/login/"])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, path: str) -> None:
    status, final = _ends_at(client, path)
    assert status == 200
    assert final.startswith("/account/sign-in/?next=/operator/")
    assert "%2F" not in final and "login" not in final  # back to the console, not to its login page


def test_an_administrator_who_signs_in_from_the_console_lands_on_it(
    client: Client, admin_adams: User
) -> None:
    finish_first_steps(admin_adams)
    status, final = _ends_at(client, "/operator/")
    assert final == SIGN_IN_FOR_OPERATOR
    response = client.post(final, {"username": "admin.adams", "password": PASSWORD, "next": "/operator/"})
    assert response["Location"] == "/account/sign-in/second-step/"
    response = client.post(response["Location"], {"code": totp_now(admin_adams)})
    assert response.status_code == 302
    assert response["Location"] == "/operator/"
    assert client.get("/operator/").status_code == 200
    # A stale link to the console's login page sends a verified administrator on to the console.
    assert _ends_at(client, "/operator/login/?next=/operator/") == (200, "/operator/")


@pytest.mark.django_db
def test_the_console_login_page_does_not_redirect_off_site(client: Client) -> None:
    response = client.get("/operator/login/?next=https://evil.example.com/")
    assert response["Location"] == SIGN_IN_FOR_OPERATOR


def test_an_administrator_without_the_second_step_is_refused(client: Client, admin_adams: User) -> None:
    """A session made without the portal's sign-in (so without a verified second factor) does not open it."""
    client.force_login(admin_adams)
    status, final = _ends_at(client, "/operator/")
    assert (status, final) in {(200, SIGN_IN_FOR_OPERATOR), (403, "/operator/login/?next=/operator/")}


def test_a_physician_is_refused(signed_in: Callable[[User], Client], dr_diaz: User) -> None:
    assert _ends_at(signed_in(dr_diaz), "/operator/") == (403, "/operator/login/?next=/operator/")


def test_a_staff_flag_alone_does_not_make_an_administrator(
    signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """is_staff and is_superuser set by mistake on a physician: still no console without the role."""
    dr_diaz.is_staff = True
    dr_diaz.is_superuser = True
    dr_diaz.save(update_fields=["is_staff", "is_superuser"])
    client = signed_in(dr_diaz)
    assert _ends_at(client, "/operator/") == (403, "/operator/login/?next=/operator/")
    assert _ends_at(client, "/operator/password_change/")[0] == 403


def test_a_patient_is_refused(signed_in: Callable[[User], Client], paula: User) -> None:
    client = signed_in(paula)
    status, _ = _ends_at(client, "/operator/")
    assert status == 403
    assert b"not available to your account" in client.get("/operator/login/").content


def test_console_password_change_goes_to_the_portals_own_page(client: Client, admin_adams: User) -> None:
    """Django's stock password page would skip the audit and the sign-out of other sessions."""
    from conftest import finish_first_steps, sign_in

    finish_first_steps(admin_adams)
    sign_in(client, admin_adams)
    response = client.get("/operator/password_change/")
    assert response.status_code == 302
    assert response["Location"] == "/account/security/password/"
