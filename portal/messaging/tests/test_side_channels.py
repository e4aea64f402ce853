"""No health information in logs, task payloads, caches, sessions, e-mail or the audit log.

Paula (patient, Team Blue) and Dr. Diaz (Team Blue) use messaging through real
HTTP requests: Paula autosaves a draft she keeps, writes a new message with a
file (and a refused empty file), Dr. Diaz adds an internal note and replies
with a file of his own, Paula replies and downloads. Every text they type and
every file name and content holds a synthetic marker. With every logger
capturing at DEBUG (SQL and its parameters included), none of the markers may
appear in any log record, any row of any table (task queue, sessions, e-mail
log and audit log among them), any cache, any file written outside the
encrypted store's sealed bytes, any e-mail sent, any cookie, or the process's
own output.

The scenario runs twice: the embedded default's shape (database task queue
drained by the real `db_worker`, database sessions, e-mail through a real SMTP
server) and the test settings' shape (tasks at once, sessions in the cache,
e-mail in `mail.outbox`). A self-check proves each place is really looked at:
a marker put there on purpose is found.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
import signal
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.backends.db import SessionStore as DatabaseSession
from django.core import mail
from django.core.cache import cache
from django.core.cache.backends.dummy import DummyCache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.servers.basehttp import WSGIRequestHandler
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.test import Client, override_settings
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from django_tasks_db.models import DBTaskResult

from conftest import finish_first_steps, sign_in
from portal.accounts.models import User
from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.core.acting import Actor
from portal.core.mail import deliver_email, queue_email
from portal.core.models import OutgoingEmail
from portal.core.tests.plaintext_scan import Finding, PlaintextScan, every_log_record
from portal.core.tests.smtp import Inbox, smtp
from portal.messaging import actions
from portal.messaging.models import Attachment, Draft, InternalNote, Message, Thread

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["smtp"]

# Synthetic markers, one per place a person types or uploads something; the texts carry them.
DRAFT_SUBJECT = "zqxw-draft-subject-k3"
DRAFT_BODY_MARK = "zqxw-draft-body-m8"
SUBJECT = "zqxw-subject-p4"
BODY_MARK = "zqxw-body-r7"
FILE_NAME_MARK = "zqxw-file-name-t2"
FILE_TEXT_MARK = "zqxw-file-content-v5"
REFUSED_NAME_MARK = "zqxw-refused-name-w1"
NOTE_MARK = "zqxw-note-y6"
STAFF_REPLY_MARK = "zqxw-staff-reply-a9"
STAFF_FILE_NAME_MARK = "zqxw-staff-file-name-c3"
STAFF_FILE_TEXT_MARK = "zqxw-staff-file-content-d8"
PATIENT_REPLY_MARK = "zqxw-patient-reply-f2"
DRAFT_FILE_NAME_MARK = "zqxw-draft-file-name-g4"
DRAFT_FILE_TEXT_MARK = "zqxw-draft-file-content-j7"
MARKERS = [
    DRAFT_FILE_NAME_MARK,
    DRAFT_FILE_TEXT_MARK,
    DRAFT_SUBJECT,
    DRAFT_BODY_MARK,
    SUBJECT,
    BODY_MARK,
    FILE_NAME_MARK,
    FILE_TEXT_MARK,
    REFUSED_NAME_MARK,
    NOTE_MARK,
    STAFF_REPLY_MARK,
    STAFF_FILE_NAME_MARK,
    STAFF_FILE_TEXT_MARK,
    PATIENT_REPLY_MARK,
]
DRAFT_BODY = f"{DRAFT_BODY_MARK} my left knee"
BODY = f"{BODY_MARK} the rash is spreading"
FILE_NAME = f"{FILE_NAME_MARK}.txt"
FILE_TEXT = f"{FILE_TEXT_MARK} blood pressure log".encode()
REFUSED_NAME = f"{REFUSED_NAME_MARK}.txt"
NOTE = f"{NOTE_MARK} call pharmacy"
STAFF_REPLY = f"{STAFF_REPLY_MARK} keep the cream on"
STAFF_FILE_NAME = f"{STAFF_FILE_NAME_MARK}.txt"
STAFF_FILE_TEXT = f"{STAFF_FILE_TEXT_MARK} dosing table".encode()
PATIENT_REPLY = f"{PATIENT_REPLY_MARK} thank you"

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
CACHED_SESSIONS = "django.contrib.sessions.backends.cached_db"


# --- a real SMTP server and the real worker ---------------------------------------------------------


def run_worker() -> str:
    """Drain the database queue with the real worker, logging at its most verbose."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    out = StringIO()
    try:
        call_command(
            "db_worker",
            "--batch",
            "--no-startup-delay",
            "--no-reload",
            "--verbosity",
            "3",
            stdout=out,
            stderr=out,
        )
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    return out.getvalue()


# --- the scenario ---------------------------------------------------------------------------------------


def _file(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/plain")


def use_messaging(world: dict[str, Any], paula: User, dr_diaz: User, eve: User) -> dict[str, Client]:
    """Everything Paula and Dr. Diaz do, as requests; returns their browsers (test clients)."""
    for person in (paula, dr_diaz, eve):
        finish_first_steps(person)
    actions.check_set_notifications(by=Actor(dr_diaz), frequency="each")
    patient, staff, other = Client(), Client(), Client()
    assert sign_in(patient, paula).status_code == 302
    assert sign_in(staff, dr_diaz).status_code == 302
    assert sign_in(other, eve).status_code == 302
    team = world["blue"].pk

    # A draft Paula keeps: saved by the page's autosave with the file she chose, never sent.
    assert patient.get("/messages/new/").status_code == 200
    saved = patient.post(
        "/messages/drafts/autosave/",
        {
            "send_token": str(uuid.uuid4()),
            "care_team": team,
            "category": "medication",
            "subject": DRAFT_SUBJECT,
            "body": DRAFT_BODY,
            "attachments": [
                _file(f"{DRAFT_FILE_NAME_MARK}.txt", f"{DRAFT_FILE_TEXT_MARK} peak flow".encode())
            ],
        },
    )
    assert saved.status_code == 200 and len(saved.json()["attached"]) == 1

    # A new message with a file; an empty file is refused by name (a 400 page, logged by Django).
    token = str(uuid.uuid4())
    form = {
        "send_token": token,
        "care_team": team,
        "category": "test_result",
        "subject": SUBJECT,
        "body": BODY,
    }
    refused = patient.post(
        "/messages/new/",
        {**form, "action": "send", "attachments": [_file(FILE_NAME, FILE_TEXT), _file(REFUSED_NAME, b"")]},
    )
    assert refused.status_code == 400 and REFUSED_NAME in refused.content.decode()
    sent = patient.post("/messages/new/", {**form, "action": "send"})
    assert sent.status_code == 302, sent.content[:400]
    thread = Thread.objects.get(messages__send_token=token)
    assert patient.get("/messages/drafts/").status_code == 200

    # Dr. Diaz reads, writes an internal note and replies with a file.
    assert staff.get(f"/staff/messages/teams/{team}/").status_code == 200
    assert staff.get(f"/staff/messages/threads/{thread.pk}/").status_code == 200
    assert staff.post(f"/staff/messages/threads/{thread.pk}/note/", {"note": NOTE}).status_code == 302
    answered = staff.post(
        f"/staff/messages/threads/{thread.pk}/reply/",
        {
            "body": STAFF_REPLY,
            "send_token": str(uuid.uuid4()),
            "attachments": [_file(STAFF_FILE_NAME, STAFF_FILE_TEXT)],
        },
    )
    assert answered.status_code == 302, answered.content[:400]

    # Paula reads, downloads both files and the conversation, and replies.
    page = patient.get(f"/messages/threads/{thread.pk}/")
    assert STAFF_REPLY in page.content.decode() and NOTE not in page.content.decode()
    for attachment in Attachment.objects.filter(message__thread=thread):
        download = patient.get(f"/messages/attachments/{attachment.pk}/")
        assert download.status_code == 200 and download.content in (FILE_TEXT, STAFF_FILE_TEXT)
    assert patient.get(f"/messages/threads/{thread.pk}/conversation.txt").status_code == 200
    replied = patient.post(
        f"/messages/threads/{thread.pk}/reply/", {"body": PATIENT_REPLY, "send_token": str(uuid.uuid4())}
    )
    assert replied.status_code == 302, replied.content[:400]

    # Eve, another patient, tries Paula's thread and file: not found (a logged 404).
    assert other.get(f"/messages/threads/{thread.pk}/").status_code == 404
    assert other.get(f"/messages/attachments/{Attachment.objects.first().pk}/").status_code == 404  # type: ignore[union-attr]
    return {"Paula": patient, "Dr. Diaz": staff, "Eve": other}


def _everything_was_written() -> None:
    """The scenario really stored what the scan then looks for in the wrong places."""
    assert Draft.objects.count() == 1
    assert Message.objects.count() == 3
    assert InternalNote.objects.count() == 1
    assert Attachment.objects.filter(message__isnull=False).count() == 2
    assert Attachment.objects.filter(draft__isnull=False).count() == 1
    assert OutgoingEmail.objects.count() == 3  # Dr. Diaz twice (opted in), Paula once


def _scan_the_server_side(scan: PlaintextScan, vault: Path) -> None:
    assert scan.database() > 0
    scan.caches()
    # The sealed files themselves (their names are random, their bytes ciphertext).
    assert scan.directory(vault / "vault-files") == 3


def _report(findings: list[Finding]) -> str:
    return "plaintext found:\n" + "\n".join(str(finding) for finding in findings[:30])


def test_the_embedded_default_keeps_no_plaintext_outside_the_vault(  # noqa: PLR0917 - pytest fixtures
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    eve: User,
    smtp: Inbox,
    settings: Any,
    isolated_vault: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Database queue, database sessions, SMTP: no marker in any log, task row, session row,
    e-mail log row, audit event, cache, cookie, SMTP message or the process's output."""
    settings.TASKS = DB_TASKS
    scan = PlaintextScan(MARKERS)
    with every_log_record() as log:
        clients = use_messaging(world, paula, dr_diaz, eve)
        _everything_was_written()
        # The notices wait in the queue: their stored payloads are what a worker host receives.
        waiting = list(DBTaskResult.objects.values_list("task_path", "args_kwargs"))
        assert waiting == [
            ("portal.core.mail.deliver_email", {"args": [pk], "kwargs": {}})
            for pk in OutgoingEmail.objects.order_by("pk").values_list("pk", flat=True)
        ]
        _scan_the_server_side(scan, isolated_vault)
        worker_output = run_worker()
    assert len(smtp.raw) == 3
    assert OutgoingEmail.objects.filter(status=OutgoingEmail.Status.SENT).count() == 3
    _scan_the_server_side(scan, isolated_vault)  # again, with the worker's results stored
    for index, raw in enumerate(smtp.raw):
        scan.mime(f"SMTP message {index}", raw)
    for name, client in clients.items():
        scan.cookies(client, name)
    scan.value("db_worker output", worker_output)
    out, err = capsys.readouterr()
    scan.value("standard output", out)
    scan.value("standard error", err)
    assert scan.log_records(log.records) > 100
    assert any(r.name == "django.db.backends" for r in log.records), "SQL was not logged"
    assert any(r.name == "django.request" and r.levelno == logging.WARNING for r in log.records)
    assert scan.findings == [], _report(scan.findings)
    assert AuditEvent.objects.filter(action="messaging.message.sent").count() == 3


def test_the_test_settings_keep_no_plaintext_in_cached_sessions_or_the_outbox(  # noqa: PLR0917 - pytest fixtures
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    eve: User,
    settings: Any,
    isolated_vault: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Tasks at once, sessions in the cache (so the cache really holds them), e-mail in mail.outbox:
    no marker in any log, cache entry, session, table, e-mail or cookie."""
    settings.SESSION_ENGINE = CACHED_SESSIONS
    cache.clear()
    scan = PlaintextScan(MARKERS)
    with every_log_record() as log:
        clients = use_messaging(world, paula, dr_diaz, eve)
    _everything_was_written()
    assert scan.caches() >= 3, "the sessions were not in the cache"
    _scan_the_server_side(scan, isolated_vault)
    assert scan.emails(mail.outbox) == 3
    for name, client in clients.items():
        scan.cookies(client, name)
    out, err = capsys.readouterr()
    scan.value("standard output", out)
    scan.value("standard error", err)
    assert scan.log_records(log.records) > 100
    assert scan.findings == [], _report(scan.findings)


class LoggingServerThread(LiveServerThread):
    """A live server that logs each request line as `make dev` (runserver) does."""

    def _create_server(self, connections_override: Any = None) -> Any:
        return self.server_class(
            (self.host, self.port),
            WSGIRequestHandler,
            allow_reuse_address=False,
            connections_override=connections_override,
        )


@pytest.fixture
def logging_server() -> Iterator[str]:
    # As LiveServerTestCase does: an in-memory SQLite test database is shared with the thread.
    in_memory = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}
    for connection in in_memory.values():
        connection.inc_thread_sharing()
    thread = LoggingServerThread("127.0.0.1", _StaticFilesHandler, connections_override=in_memory)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()
    for connection in in_memory.values():
        connection.dec_thread_sharing()


class Browser:
    """Just enough of a browser: cookies, and a form submitted the way its HTML says."""

    def __init__(self, base: str, cookies: dict[str, str]) -> None:
        self.base, self.cookies = base, dict(cookies)

    def open(self, path: str, *, data: dict[str, str] | None = None) -> str:
        request = urllib.request.Request(  # noqa: S310 - our own test server
            self.base + path,
            data=urlencode(data).encode() if data is not None else None,
            headers={"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            for header in response.headers.get_all("Set-Cookie") or []:
                self.cookies.update({k: m.value for k, m in SimpleCookie(header).items()})
            return str(response.read().decode())

    def submit(self, page: str, action: str, fields: dict[str, str]) -> str:
        form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>', page)
        assert form is not None, f"no form for {action}"
        method = re.search(r'method="(\w+)"', form.group(0))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if method is not None and method.group(1).lower() == "post":
            assert token is not None
            return self.open(action, data={"csrfmiddlewaretoken": token.group(1), **fields})
        return self.open(f"{action}?{urlencode(fields)}")


def test_the_words_searched_for_stay_out_of_the_servers_request_log(
    world: dict[str, Any], paula: User, logging_server: str
) -> None:
    """Paula searches her messages through the embedded server: the words she typed are health
    information, and the request line the server logs (and a proxy's access log, and the
    browser's history) holds no word of them."""
    finish_first_steps(paula)
    patient = Client()
    assert sign_in(patient, paula).status_code == 302
    patient.post(
        "/messages/new/",
        {"send_token": str(uuid.uuid4()), "care_team": world["blue"].pk, "category": "general"}
        | {"subject": SUBJECT, "body": BODY, "action": "send"},
    )
    browser = Browser(logging_server, {k: m.value for k, m in patient.cookies.items()})
    with every_log_record(sql=False) as log:
        page = browser.open("/messages/search/")
        results = browser.submit(page, "/messages/search/", {"words": BODY_MARK})
    assert "1 conversation found" in results and SUBJECT in results
    request_lines = [r.getMessage() for r in log.records if r.name == "django.server"]
    assert any("/messages/search/" in line for line in request_lines), request_lines
    scan = PlaintextScan(MARKERS)
    scan.log_records(log.records)
    assert scan.findings == [], _report(scan.findings)


def test_a_template_lookup_that_fails_is_logged_without_the_page_it_was_on() -> None:
    """Django logs a variable that does not resolve, with an exception quoting the whole
    context; the portal's logging keeps the line (names only) and drops that exception."""
    page = Template("{{ view.draft.attachments }}{{ staff_side.x }}")
    with every_log_record(sql=False) as log:
        page.render(Context({"view": {"subject": SUBJECT, "draft": None}, "body": BODY}))
    lines = [r for r in log.records if r.name == "django.template"]
    assert lines, "the lookup was not logged at all"
    assert "'attachments'" in lines[0].getMessage()
    assert all(r.exc_info is None for r in lines)
    scan = PlaintextScan(MARKERS)
    scan.log_records(log.records)
    assert scan.findings == [], _report(scan.findings)


# --- the scan can fail: a marker put in each place on purpose is found ----------------------------------

MARK = "zqxw-planted-h5"


Look = Callable[[PlaintextScan], object]


def _plant_log_message(tmp_path: Path) -> Look:
    with every_log_record() as log:
        logging.getLogger("portal.anything").debug("subject was %s", MARK)
    return lambda scan: scan.log_records(log.records)


def _plant_log_extra(tmp_path: Path) -> Look:
    with every_log_record() as log:
        logging.getLogger("portal.anything").info("saved", extra={"subject": MARK})
    return lambda scan: scan.log_records(log.records)


def _plant_log_traceback(tmp_path: Path) -> Look:
    with every_log_record() as log:
        try:
            raise ValueError(MARK)
        except ValueError:
            logging.getLogger("portal.anything").exception("failed")
    return lambda scan: scan.log_records(log.records)


def _plant_sql_parameters(tmp_path: Path) -> Look:
    with every_log_record() as log:
        OutgoingEmail.objects.filter(subject=MARK).exists()
    return lambda scan: scan.log_records(r for r in log.records if r.name == "django.db.backends")


def _plant_task_payload(tmp_path: Path) -> Look:
    with override_settings(TASKS=DB_TASKS):
        deliver_email.enqueue(MARK)  # type: ignore[arg-type]
    return lambda scan: scan.database()


def _plant_database_session(tmp_path: Path) -> Look:
    session = DatabaseSession()
    session["draft"] = MARK
    session.save()  # signed and compressed: only decoding shows it
    return lambda scan: scan.database()


def _plant_cache(tmp_path: Path) -> Look:
    cache.set("anything", {"body": MARK})
    return lambda scan: scan.caches()


def _plant_email_log(tmp_path: Path) -> Look:
    queue_email(template="new_message", to="paula@example.com", context={})
    OutgoingEmail.objects.update(subject=MARK)
    return lambda scan: scan.database()


def _plant_audit_event(tmp_path: Path) -> Look:
    audit.record("messaging.test", object_type="thread", object_id=MARK)
    return lambda scan: scan.database()


def _plant_outbox(tmp_path: Path) -> Look:
    mail.outbox.append(mail.EmailMessage(subject="hello", body=f"line\n{MARK}", to=["a@example.com"]))
    return lambda scan: scan.emails(mail.outbox)


def _plant_smtp_quoted_printable(tmp_path: Path) -> Look:
    message = email.message.EmailMessage(policy=email.policy.SMTP)
    message.set_content(("x" * 70) + MARK + "\u00e9", cte="quoted-printable")  # a soft line break inside
    raw = message.as_bytes()
    assert MARK.encode() not in raw  # a naive search of the raw bytes would miss it
    return lambda scan: scan.mime("SMTP", raw)


def _plant_file(tmp_path: Path) -> Look:
    (tmp_path / "spool").mkdir()
    (tmp_path / "spool" / "a.bin").write_bytes(b"\x00" + MARK.encode("utf-16-le"))
    return lambda scan: scan.directory(tmp_path / "spool")


def _plant_cookie(tmp_path: Path) -> Look:
    storage = CookieStorage(HttpRequest())
    response = HttpResponse()
    storage.add(logging.INFO, MARK)
    storage.update(response)
    client = Client()
    client.cookies["messages"] = response.cookies["messages"].value
    return lambda scan: scan.cookies(client, "browser")


PLANTERS: dict[str, Callable[[Path], Look]] = {
    "log message": _plant_log_message,
    "log extra": _plant_log_extra,
    "log traceback": _plant_log_traceback,
    "sql parameters": _plant_sql_parameters,
    "task payload": _plant_task_payload,
    "database session": _plant_database_session,
    "cache": _plant_cache,
    "e-mail log": _plant_email_log,
    "audit event": _plant_audit_event,
    "outbox": _plant_outbox,
    "smtp quoted-printable": _plant_smtp_quoted_printable,
    "file": _plant_file,
    "cookie": _plant_cookie,
}


@pytest.mark.parametrize("place", list(PLANTERS))
def test_the_scan_finds_a_marker_put_there_on_purpose(
    place: str, world: dict[str, Any], tmp_path: Path
) -> None:
    """Each place the real tests look at really is looked at: a planted marker is reported."""
    cache.clear()
    look = PLANTERS[place](tmp_path)
    scan = PlaintextScan([MARK])
    look(scan)
    assert [finding.marker for finding in scan.findings][:1] == [MARK], place


def test_an_unknown_cache_backend_is_a_finding(settings: Any) -> None:
    """The scan fails closed: a cache it cannot read is reported, not skipped."""
    settings.CACHES = {
        **settings.CACHES,
        "other": {"BACKEND": "portal.messaging.tests.test_side_channels.OpaqueCache"},
    }
    scan = PlaintextScan([MARK])
    scan.caches()
    assert [f.place for f in scan.findings] == ["cache other"]


class OpaqueCache(DummyCache):
    """A cache backend the scan has never heard of."""
