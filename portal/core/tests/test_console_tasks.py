"""The operator console's own help-desk tasks: the audit chain's check and the e-mail delivery log.

Alex Adams (administrator) verifies the audit chain from the console: it is intact, then
someone with the database changes a row and the console names it, as `audit_verify` does.
He reads the delivery log (kinds, addresses, states; never a subject or a text), sends a
failed e-mail again while its text is kept, and is told in words when it no longer is.
Every task asks the reason first and leaves an audit event with it. Dr. Diaz cannot open
any of these pages.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.log import record, seal_pending
from portal.audit.migrations import _append_only
from portal.audit.models import AuditEvent
from portal.core import jobs
from portal.core.delivery import delivery_log, forget_failed_texts
from portal.core.models import OutgoingEmail

CHAIN = "/operator/help-desk/audit-chain/"
LOG = "/operator/help-desk/email/"
SECRET_SUBJECT = "Subject the log must not show"
SECRET_TEXT = "Text with a link the log must not show"


@pytest.fixture
def console(admin_adams: User, signed_in: Callable[[User], Client]) -> Client:
    return signed_in(admin_adams)


@pytest.fixture
def attacker() -> Iterator[None]:
    """Someone with raw database access: the append-only triggers are gone while they work."""
    with connection.cursor() as cursor:
        _append_only.remove(connection.vendor, cursor)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            _append_only.install(connection.vendor, cursor)


def _text(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


# --- The audit chain ----------------------------------------------------------------------------


def test_alex_verifies_an_intact_chain(console: Client, admin_adams: User) -> None:
    for n in range(4):
        record("record.viewed", actor_id=admin_adams.pk, object_type="note", object_id=n)
    seal_pending()
    form = console.get(CHAIN)
    assert form.status_code == 200 and "Verify the audit chain" in _text(form)
    assert not AuditEvent.objects.filter(action="audit.chain_verified").exists()

    out = StringIO()
    call_command("audit_verify", stdout=out)
    page = _text(console.post(CHAIN, {"reason": "routine_check"}))
    assert "The audit chain is intact" in page
    assert (
        out.getvalue().splitlines()[0] in page
    )  # the command's words: "Audit chain intact: N events verified."
    event = AuditEvent.objects.get(action="audit.chain_verified")
    assert (event.actor_id, event.outcome) == (admin_adams.pk, "success")
    assert event.details["reason"] == "routine_check" and event.details["intact"] is True
    assert event.details["broken_at"] is None


def test_a_changed_row_is_named_in_the_console(console: Client, attacker: None) -> None:
    events = [record("record.viewed", actor_id=1, patient_id=2, object_id=n) for n in range(5)]
    seal_pending()
    AuditEvent.objects.filter(pk=events[2].pk).update(patient_id=999)
    page = _text(console.post(CHAIN, {"reason": "security"}))
    assert "The audit chain is broken" in page
    assert (
        f"Audit chain broken at event {events[2].pk}: its content was changed after it was written." in page
    )
    event = AuditEvent.objects.get(action="audit.chain_verified")
    assert event.outcome == "failure" and event.details["broken_at"] == events[2].pk


def test_the_chain_is_not_walked_without_a_reason(console: Client) -> None:
    response = console.post(CHAIN, {"reason": ""})
    assert response.status_code == 400 and "Choose the reason" in _text(response)
    assert "The audit chain is" not in _text(response)
    assert not AuditEvent.objects.filter(action="audit.chain_verified").exists()


# --- The delivery log ---------------------------------------------------------------------------


def _email(
    status: str, *, to: str = "paula@example.com", text: str = SECRET_TEXT, **fields: Any
) -> OutgoingEmail:
    return OutgoingEmail.objects.create(
        template="password_reset",
        to=to,
        subject=SECRET_SUBJECT,
        text_body=text,
        html_body=text,
        status=status,
        **fields,
    )


def _log_rows(page: str) -> dict[int, str]:
    return {int(n): row for n, row in re.findall(r'<tr> <th scope="row"[^>]*>(\d+)</th>(.*?)</tr>', page)}


def test_alex_reads_the_delivery_log_without_subjects_or_texts(console: Client, admin_adams: User) -> None:
    sent = _email("sent", text="", attempts=1, sent_at=timezone.now())
    kept = _email("failed", attempts=8, last_error="ConnectionRefusedError", attempted_at=timezone.now())
    gone = _email("failed", text="", attempts=8, attempted_at=timezone.now() - timedelta(days=2))
    waiting = _email("queued", attempts=2, next_attempt_at=timezone.now() + timedelta(minutes=2))

    assert "E-mail delivery log" in _text(console.get(LOG))
    assert not AuditEvent.objects.filter(action="core.delivery_log_read").exists()
    page = _text(console.get(LOG, {"reason": "email_missing"}))
    rows = _log_rows(page)
    assert list(rows) == [waiting.pk, gone.pk, kept.pk, sent.pk]
    assert all("Password reset link" in row and "paula@example.com" in row for row in rows.values())
    assert "Sent" in rows[sent.pk] and "Tried again at" in rows[waiting.pk]
    assert f"Send e-mail {kept.pk} again" in rows[kept.pk] and "ConnectionRefusedError" in rows[kept.pk]
    assert "Its text is gone: send the person a new link" in rows[gone.pk]
    assert SECRET_SUBJECT not in page and SECRET_TEXT not in page
    event = AuditEvent.objects.get(action="core.delivery_log_read")
    assert (event.actor_id, event.details) == (
        admin_adams.pk,
        {"reason": "email_missing", "status": None, "before": None},
    )


def test_the_log_shows_one_status_and_pages_back(console: Client) -> None:
    for _ in range(55):
        _email("failed", attempted_at=timezone.now())
    _email("sent", text="")
    first = console.get(LOG, {"reason": "routine_check", "status": "failed"}).content.decode()
    assert len(_log_rows(_text_of(first))) == 50
    older = re.search(r'href="\?status=failed&amp;reason=routine_check&amp;before=(\d+)"', first)
    assert older is not None
    second = console.get(LOG, {"reason": "routine_check", "status": "failed", "before": older.group(1)})
    assert len(_log_rows(_text(second))) == 5


def _text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page))


@pytest.mark.parametrize("count", [3, 40])
def test_the_log_costs_a_fixed_number_of_queries(console: Client, count: int) -> None:
    for _ in range(count):
        _email("failed", attempted_at=timezone.now())
    console.get(LOG, {"reason": "routine_check"})
    with CaptureQueriesContext(connection) as queries:
        console.get(LOG, {"reason": "routine_check"})
    assert len(queries) == LOG_QUERIES - 2 + (1 if connection.vendor == "postgresql" else 2)


LOG_QUERIES = 7  # counted on SQLite, where an audit event costs two statements


def test_alex_sends_a_failed_email_again(
    console: Client, admin_adams: User, django_capture_on_commit_callbacks: Any
) -> None:
    failed = _email("failed", attempts=8, last_error="ConnectionRefusedError", attempted_at=timezone.now())
    url = f"/operator/help-desk/email/{failed.pk}/send-again/"
    assert "Send it again" in _text(console.get(url))
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(url, {"reason": "email_missing"})
    assert response.status_code == 302 and response["Location"] == f"{LOG}?reason=email_missing"
    [message] = mail.outbox  # the immediate task backend delivered it after commit
    assert message.to == ["paula@example.com"] and message.body == SECRET_TEXT
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("sent", 1)
    event = AuditEvent.objects.get(action="core.email_sent_again")
    assert (event.actor_id, event.object_type, event.object_id, event.details) == (
        admin_adams.pk,
        "outgoing_email",
        str(failed.pk),
        {"reason": "email_missing"},
    )


@pytest.mark.parametrize(
    ("status", "text", "said"),
    [
        ("failed", "", "Its text was removed 24 hours after it failed"),
        ("sent", "", "This e-mail is sent, not failed."),
        ("queued", SECRET_TEXT, "This e-mail is queued, not failed."),
    ],
)
def test_only_a_failed_email_whose_text_is_kept_goes_again(
    console: Client, status: str, text: str, said: str
) -> None:
    row = _email(status, text=text, attempted_at=timezone.now())
    response = console.post(f"/operator/help-desk/email/{row.pk}/send-again/", {"reason": "email_missing"})
    assert response.status_code == 400 and said in _text(response)
    row.refresh_from_db()
    assert row.status == status and mail.outbox == []
    assert not AuditEvent.objects.filter(action="core.email_sent_again").exists()


def test_an_email_that_does_not_exist_is_said_so(console: Client) -> None:
    response = console.post("/operator/help-desk/email/999999/send-again/", {"reason": "email_missing"})
    assert "There is no such e-mail in the delivery log." in _text(response)


def test_alex_queues_again_an_email_whose_task_was_lost(
    console: Client, admin_adams: User, django_capture_on_commit_callbacks: Any
) -> None:
    lost = _email("queued", next_attempt_at=timezone.now() - timedelta(minutes=11))
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post("/operator/help-desk/email/requeue/", {"reason": "email_missing"})
    assert response.status_code == 302
    assert "Queued again: 1 e-mail(s)." in _text(console.get(response["Location"]))
    lost.refresh_from_db()
    assert lost.status == "sent" and len(mail.outbox) == 1
    event = AuditEvent.objects.get(action="core.stalled_email_requeued")
    assert (event.actor_id, event.details) == (admin_adams.pk, {"reason": "email_missing", "emails": 1})


# --- A failed e-mail's text ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failed_emails_text_is_kept_while_its_links_live_then_dropped() -> None:
    recent = _email("failed", attempted_at=timezone.now() - timedelta(hours=23))
    old = _email("failed", attempted_at=timezone.now() - timedelta(hours=25))
    sent = _email("sent", text="kept until the relay has it", attempted_at=timezone.now() - timedelta(days=9))
    assert forget_failed_texts() == 1
    kept = {row.id: row.text_kept for row in delivery_log(limit=10)}
    assert kept == {recent.pk: True, old.pk: False, sent.pk: True}
    old.refresh_from_db()
    assert old.text_body == old.html_body == ""


@pytest.mark.django_db
def test_the_mail_sweep_drops_old_failed_texts() -> None:
    _email("failed", attempted_at=timezone.now() - timedelta(hours=30))
    result = jobs.run(jobs.get("core.mail_sweep"), force=True).result
    assert result == "0 e-mail(s) queued again, the text of 1 failed e-mail(s) dropped"


# --- Who may --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/operator/help-desk/",
        CHAIN,
        f"{LOG}?reason=routine_check",
        "/operator/help-desk/email/requeue/",
        "/operator/help-desk/email/1/send-again/",
    ],
)
def test_a_physician_is_refused_every_console_task(
    signed_in: Callable[[User], Client], dr_diaz: User, path: str
) -> None:
    client = signed_in(dr_diaz)
    for response in (client.get(path), client.post(path, {"reason": "routine_check"})):
        assert response.status_code == 302 and response["Location"].startswith("/operator/login/")
    assert not AuditEvent.objects.filter(
        action__in=["audit.chain_verified", "core.delivery_log_read"]
    ).exists()
