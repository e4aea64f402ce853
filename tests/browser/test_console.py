"""Every page of the operator console passes axe-core, at desktop and at 320 px, and the help
desk's tasks work with the keyboard.

Alex Adams (administrator) signs in and lands on the console. The test visits every page the
console's site offers, found from its registry (so a model added later is visited too): each
app's index, each list, each add form, each change form and its history, the link and unlink
pages of a patient's record, the refused-access list, and every help-desk page, with a form
error and with results. Screenshots go to screenshots/console-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from conftest import PASSWORD, finish_first_steps, totp_now
from portal.accounts import throttle
from portal.accounts.models import TermsVersion, User
from portal.audit.denials import record_denied
from portal.audit.log import record
from portal.core.admin import portal_admin_site
from portal.core.models import OutgoingEmail
from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in_as_alex(page: Page, base: str, alex: User) -> None:
    page.goto(f"{base}/account/sign-in/")
    page.get_by_label("Username").fill(alex.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(totp_now(alex))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Operator console")).to_be_visible()  # he lands on it


@pytest.fixture
def console_world(paula: User, eve: User, dr_diaz: User, admin_adams: User) -> Iterator[dict[str, Any]]:
    """Something on every page: a locked account, sign-ins, a refusal, failed e-mails, terms."""
    finish_first_steps(paula)
    finish_first_steps(admin_adams)
    TermsVersion.objects.create(version="2026-1", title="Conditions of use", text="Be kind.")
    for _ in range(10):
        throttle.register_failure("paula", "203.0.113.66")
    Client().post("/account/sign-in/", {"username": "eve", "password": PASSWORD})
    record("records.summary_viewed", actor_id=dr_diaz.pk, patient_id=paula.patient.pk)
    record_denied(actor_id=eve.pk, kind="patient", object_id=paula.patient.pk, client_address="10.0.0.9")
    failed = OutgoingEmail.objects.create(
        template="password_reset",
        to="paula@example.com",
        subject="s",
        text_body="t",
        html_body="t",
        status=OutgoingEmail.Status.FAILED,
        attempts=8,
        last_error="ConnectionRefusedError",
        attempted_at=timezone.now() - timedelta(hours=1),
    )
    OutgoingEmail.objects.create(template="new_message", to="eve@example.com", subject="s", status="sent")
    yield {"paula": paula, "patient": paula.patient, "failed": failed, "alex": admin_adams}


def every_console_page(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, path) of every page of the console, from its registry and its help-desk pages."""
    pages = [("index", reverse("operator:index")), ("help-desk", reverse("operator:help_desk"))]
    as_alex = RequestFactory().get("/operator/")
    as_alex.user = data["alex"]
    as_alex.user.is_verified = lambda: True  # type: ignore[attr-defined]
    apps = set()
    for model, model_admin in portal_admin_site._registry.items():
        opts = model._meta
        label = f"{opts.app_label}-{opts.model_name}"
        apps.add(opts.app_label)
        pages.append((f"{label}-list", reverse(f"operator:{opts.app_label}_{opts.model_name}_changelist")))
        if model_admin.has_add_permission(as_alex):
            pages.append((f"{label}-add", reverse(f"operator:{opts.app_label}_{opts.model_name}_add")))
        first = model._default_manager.order_by("pk").first()
        assert first is not None, f"the test world has no {opts.verbose_name}"
        pages.append(
            (
                f"{label}-change",
                reverse(f"operator:{opts.app_label}_{opts.model_name}_change", args=[first.pk]),
            )
        )
        pages.append(
            (
                f"{label}-history",
                reverse(f"operator:{opts.app_label}_{opts.model_name}_history", args=[first.pk]),
            )
        )
    pages += [(f"app-{app}", reverse("operator:app_list", args=[app])) for app in sorted(apps)]
    paula, patient, failed = data["paula"], data["patient"], data["failed"]
    account = f"/operator/accounts/user/{paula.pk}/help-desk/"
    pages += [
        ("patient-link", reverse("operator:clinics_patient_link", args=[patient.pk])),
        ("patient-unlink", reverse("operator:clinics_patient_unlink", args=[patient.pk])),
        ("who-looked-ask", reverse("operator:clinics_patient_access", args=[patient.pk])),
        (
            "who-looked",
            reverse("operator:clinics_patient_access", args=[patient.pk]) + "?reason=person_asked",
        ),
        ("account-help-desk", account),
        ("account-unlock", account + "unlock/"),
        ("account-reset-second-step", account + "reset-second-step/"),
        ("account-resend-confirmation", account + "resend-confirmation/"),
        ("account-send-password-reset", account + "send-password-reset/"),
        ("account-sign-ins-ask", account + "sign-ins/"),
        ("account-sign-ins", account + "sign-ins/?reason=person_asked"),
        ("email-log-ask", reverse("operator:email_log")),
        ("email-log", reverse("operator:email_log") + "?reason=email_missing"),
        ("email-send-again", reverse("operator:email_send_again", args=[failed.pk])),
        ("email-requeue", reverse("operator:email_requeue")),
        ("accounts-user-search", reverse("operator:accounts_user_changelist") + "?q=paula"),
        ("accounts-user-lookup", reverse("operator:accounts_user_changelist") + "?_to_field=id&_popup=1"),
        ("audit-chain-ask", reverse("operator:audit_chain")),
    ]
    return pages


def _visit_all(page: Page, base: str, data: dict[str, Any], prefix: str) -> None:
    for name, path in every_console_page(data):
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status == 200, f"{name}: {path}"
        assert_accessible(page, f"{prefix}-{name}")
        assert _best_practice_findings(page) == [], name


def _best_practice_findings(page: Page) -> list[str]:
    """axe-core's best-practice rules too (empty table headers, heading order, landmarks): the
    admin's own templates broke some of them. assert_accessible has loaded axe on the page."""
    result: dict[str, Any] = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['best-practice']}})"
    )
    return [violation["id"] for violation in result["violations"]]


def test_every_console_page_passes_axe_at_desktop_width(
    page: Page, live_server: Any, console_world: dict[str, Any]
) -> None:
    sign_in_as_alex(page, live_server.url, console_world["alex"])
    eve = User.objects.get(username="eve")
    expect(page.locator("#refused-access")).to_contain_text(f"eve (account {eve.pk})")  # Eve was refused
    _visit_all(page, live_server.url, console_world, "console")


def test_every_console_page_passes_axe_on_a_phone(
    phone: Page, live_server: Any, console_world: dict[str, Any]
) -> None:
    sign_in_as_alex(phone, live_server.url, console_world["alex"])
    _visit_all(phone, live_server.url, console_world, "console-phone")
    phone.goto(f"{live_server.url}/operator/")
    phone.get_by_role("button", name="Menu").click()
    expect(phone.get_by_role("link", name="Account security")).to_be_in_viewport(ratio=1)  # slid in
    assert_accessible(phone, "console-phone-menu-open")


def test_the_help_desk_unlocks_paula_with_the_keyboard(
    page: Page, live_server: Any, console_world: dict[str, Any]
) -> None:
    """From the account's page to the unlock, by keyboard: a missing reason is said at the
    field, then the reason is chosen and the account is unlocked."""
    sign_in_as_alex(page, live_server.url, console_world["alex"])
    paula = console_world["paula"]
    page.goto(f"{live_server.url}/operator/accounts/user/{paula.pk}/change/")
    page.get_by_role("link", name="Help desk").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Locked after too many failed attempts")).to_be_visible()
    page.get_by_role("link", name="Unlock sign-in").focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Unlock sign-in").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".errorlist")).to_contain_text("Choose the reason: it goes in the audit log")
    assert_accessible(page, "console-unlock-error")
    page.get_by_label("Reason").focus()
    page.get_by_label("Reason").select_option("person_asked")
    page.get_by_role("button", name="Unlock sign-in").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Unlocked: the person can sign in again now.")).to_be_visible()
    expect(page.get_by_text("Not locked.", exact=True)).to_be_visible()
    assert_accessible(page, "console-unlocked")


def test_the_audit_chain_check_and_the_delivery_log(
    page: Page, live_server: Any, console_world: dict[str, Any]
) -> None:
    sign_in_as_alex(page, live_server.url, console_world["alex"])
    page.goto(f"{live_server.url}/operator/help-desk/audit-chain/")
    page.get_by_label("Reason").select_option("routine_check")
    page.get_by_role("button", name="Verify the audit chain").click()
    expect(page.get_by_role("heading", name="The audit chain is intact")).to_be_visible()
    assert_accessible(page, "console-audit-chain")

    failed = console_world["failed"]
    page.goto(f"{live_server.url}/operator/help-desk/email/")
    page.get_by_label("Reason").select_option("email_missing")
    page.get_by_label("Show").select_option("failed")
    page.get_by_role("button", name="Show the delivery log").click()
    page.get_by_role("link", name=f"Send e-mail {failed.pk} again").click()
    page.get_by_label("Reason").select_option("email_missing")
    page.get_by_role("button", name="Send it again").click()
    expect(page.get_by_text("The e-mail is queued again")).to_be_visible()
    assert_accessible(page, "console-email-sent-again")
