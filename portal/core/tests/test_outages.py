"""Hardening of the request path: refused methods, a bounded body, and outages that say so.

Paula is a patient. The database is taken away per connection (pointed at a database that is
not there, or on PostgreSQL its backend terminated), never the server itself.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.core import health, jobs
from portal.core.models import JobRun

UNAVAILABLE = "The portal is not available just now. Try again in a moment."


# TRACE and OPTIONS ------------------------------------------------------------------------------

PATHS = [
    "/",
    "/account/sign-in/",
    "/messages/",
    "/messages/drafts/autosave/",
    "/healthz",
    "/static/portal/css/portal.css",
    "/static/no-such-file.js",
    "/no-such-page/",
    "/operator/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["trace", "options"])
def test_trace_and_options_answer_405_everywhere(client: Client, path: str, method: str) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, POST"
    assert b"Cookie" not in response.content  # TRACE echoes nothing back


@pytest.mark.django_db
def test_trace_is_refused_for_a_signed_in_patient_too(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    client = signed_in(paula)
    assert client.generic("TRACE", "/messages/").status_code == 405
    assert client.get("/messages/").status_code == 200


def test_no_script_of_the_portal_talks_to_another_origin() -> None:
    """Nothing needs CORS (and so OPTIONS): every fetch goes to a path of this origin."""
    from django.conf import settings

    root = settings.BASE_DIR / "portal" / "static"
    scripts = [path for path in root.rglob("*.js") if "vendor" not in path.parts]
    assert scripts
    for script in scripts:
        text = script.read_text()
        assert "http://" not in text and "https://" not in text, script
        assert 'mode: "cors"' not in text, script


# A bounded request body -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_body_over_the_cap_is_refused_before_it_is_read(client: Client, settings: Any) -> None:
    settings.PORTAL_MAX_REQUEST_BYTES = 1024 * 1024
    big = b"x" * (1024 * 1024 + 1)
    response = client.post("/account/sign-in/", data=big, content_type="application/octet-stream")
    assert response.status_code == 413
    assert b"more than the portal takes at once (1 MB)" in response.content
    script = client.post(
        "/messages/drafts/autosave/",
        data=big,
        content_type="application/octet-stream",
        HTTP_ACCEPT="application/json",
    )
    assert script.status_code == 413 and "more than the portal takes" in script.json()["error"]


def test_uploads_stay_in_memory_up_to_the_cap() -> None:
    """The memory handler alone, taking every body the cap lets in (else it would drop files)."""
    from django.conf import settings

    assert settings.FILE_UPLOAD_HANDLERS == ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE >= settings.PORTAL_MAX_REQUEST_BYTES
    assert settings.PORTAL_MAX_REQUEST_BYTES > settings.PORTAL_ATTACHMENT_MAX_TOTAL_BYTES


# The database goes away -------------------------------------------------------------------------


@pytest.fixture
def database_gone_later(monkeypatch: pytest.MonkeyPatch) -> Callable[[], Any]:
    """`with database_gone_later():` the default connection cannot reach its database.

    PostgreSQL: the connection is closed and pointed at a port nothing listens on, so each
    query really fails to connect. SQLite: the test database lives in memory and would be
    lost with its connection, so opening a cursor fails as a missing database file does."""
    from contextlib import contextmanager

    from django.db import OperationalError, close_old_connections

    @contextmanager
    def gone() -> Iterator[None]:
        settings_dict = connection.settings_dict
        saved = {key: settings_dict.get(key) for key in ("PORT", "OPTIONS")}
        if connection.vendor == "sqlite":

            def no_database(*args: Any, **kwargs: Any) -> Any:
                raise OperationalError("unable to open database file")

            monkeypatch.setattr(connection, "cursor", no_database)
            monkeypatch.setattr(connection, "ensure_connection", no_database)
        else:
            connection.close()
            settings_dict["PORT"] = "1"
            settings_dict["OPTIONS"] = {**(saved["OPTIONS"] or {}), "connect_timeout": 2}
        try:
            yield
        finally:
            monkeypatch.undo()
            connection.close()
            settings_dict.update(saved)
            close_old_connections()

    return gone


def _assert_unavailable(response: Any, *, posted: bool) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert UNAVAILABLE in html
    assert ("Your message was not lost: go back and send it again" in html) is posted
    assert "Traceback" not in html and "OperationalError" not in html


@pytest.mark.django_db(transaction=True)
def test_pages_answer_503_while_the_database_is_gone(
    signed_in: Callable[[User], Client], paula: User, database_gone_later: Callable[[], Any]
) -> None:
    client = signed_in(paula)
    client.raise_request_exception = False  # as a server: the exception becomes the handler's answer
    with database_gone_later():
        _assert_unavailable(client.get("/messages/"), posted=False)
        _assert_unavailable(client.get("/account/sign-in/"), posted=False)
        _assert_unavailable(client.post("/messages/new/", {"body": "Typed words"}), posted=True)
        script = client.post(
            "/messages/drafts/autosave/", {"body": "Typed words"}, HTTP_ACCEPT="application/json"
        )
        assert script.status_code == 503 and script.json() == {"error": UNAVAILABLE, "unavailable": True}
        health_answer = Client().get("/healthz")  # a load balancer: no cookie
        assert health_answer.status_code == 503 and health_answer.content == b"failed: database"
    assert client.get("/messages/").status_code == 200  # back by itself


@pytest.mark.django_db(transaction=True)
def test_a_middleware_that_loses_the_database_also_answers_503(
    client: Client, paula: User, database_gone_later: Callable[[], Any]
) -> None:
    """Signed in, the session middleware reads the database before any view: handler500 says 503."""
    from conftest import finish_first_steps, sign_in

    finish_first_steps(paula)
    sign_in(client, paula)
    client.raise_request_exception = False
    with database_gone_later():
        _assert_unavailable(client.get("/"), posted=False)


@pytest.mark.django_db(transaction=True)
def test_other_errors_stay_a_plain_500(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.core import views

    def broken(request: Any) -> Any:
        raise ValueError("a bug")

    monkeypatch.setattr(views, "render", broken)
    client.raise_request_exception = False
    response = client.get("/help/")
    assert response.status_code == 500 and b"Something went wrong" in response.content


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_terminated_postgresql_backend_answers_503_then_recovers(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """The real thing on PostgreSQL: another connection terminates ours (pg_terminate_backend),
    and then holds a lock on the sessions table longer than our statement may wait."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    import psycopg
    from django.db import close_old_connections

    client = signed_in(paula)
    client.raise_request_exception = False
    assert client.get("/messages/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        ours = cursor.fetchone()[0]
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [ours])
    _assert_unavailable(client.get("/messages/"), posted=False)
    # At the next request's start the server drops the broken connection (close_old_connections;
    # the test client skips that signal, so it is called here) and opens a new one.
    close_old_connections()
    assert client.get("/messages/").status_code == 200


# /healthz -----------------------------------------------------------------------------------------


@pytest.fixture
def heartbeat_now(db: Any) -> None:
    jobs.run(jobs.get(health.HEARTBEAT_JOB))


def test_healthz_is_ok_when_all_is_well(client: Client, heartbeat_now: None) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")
    assert not AuditEvent.objects.exists()  # unaudited, unauthenticated


def test_healthz_reports_a_stale_worker_heartbeat(client: Client, heartbeat_now: None) -> None:
    JobRun.objects.filter(job=health.HEARTBEAT_JOB).update(finished_at=timezone.now() - timedelta(minutes=4))
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (503, b"failed: worker")
    assert response["Retry-After"] == "30"


@pytest.mark.django_db
def test_healthz_reports_a_worker_that_never_beat(client: Client) -> None:
    assert client.get("/healthz").content == b"failed: worker"


def test_healthz_reports_a_task_worker_that_stopped_while_the_jobs_loop_goes_on(
    client: Client, heartbeat_now: None
) -> None:
    """The jobs loop still beats, but the task worker has taken no task for four minutes."""
    JobRun.objects.filter(job=health.WORKER_HEARTBEAT).update(
        finished_at=timezone.now() - timedelta(minutes=4)
    )
    assert JobRun.objects.filter(
        job=health.HEARTBEAT_JOB, finished_at__gte=timezone.now() - timedelta(minutes=1)
    )
    assert client.get("/healthz").content == b"failed: worker"


@pytest.mark.django_db(transaction=True)
def test_the_task_worker_beats_only_when_it_takes_tasks_from_the_real_queue(
    client: Client, settings: Any
) -> None:
    """On the database queue the jobs loop's heartbeat waits for a worker: none runs, the check
    fails; the real worker takes the task, and the portal is healthy."""
    from io import StringIO

    from django.core.management import call_command

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    jobs.run(jobs.get(health.HEARTBEAT_JOB))
    assert client.get("/healthz").content == b"failed: worker"
    call_command("run_worker", "--batch", "--no-startup-delay", stdout=StringIO(), stderr=StringIO())
    assert client.get("/healthz").content == b"ok"


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_healthz_reports_a_file_store_that_cannot_be_written(  # noqa: PLR0917 - pytest fixtures
    client: Client,
    heartbeat_now: None,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    tmp_path: Any,
    code: int,
) -> None:
    from portal.vault.storage import AtomicFileSystemStorage

    settings.STORAGES = {
        **settings.STORAGES,
        "vault": {
            "BACKEND": "portal.vault.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }

    def refuse(self: Any, name: str, content: Any) -> str:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(AtomicFileSystemStorage, "_save", refuse)
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (503, b"failed: file store")
    assert not list(tmp_path.rglob("*.probe"))


def test_healthz_probe_leaves_nothing_behind(
    client: Client, heartbeat_now: None, settings: Any, tmp_path: Any
) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "vault": {
            "BACKEND": "portal.vault.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    assert client.get("/healthz").status_code == 200
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


def test_healthz_on_a_file_store_that_is_a_file_not_a_folder(
    client: Client, heartbeat_now: None, settings: Any, tmp_path: Any
) -> None:
    """A real failing store, no monkeypatch: its location is a plain file."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    settings.STORAGES = {
        **settings.STORAGES,
        "vault": {
            "BACKEND": "portal.vault.storage.AtomicFileSystemStorage",
            "OPTIONS": {"location": str(blocker)},
        },
    }
    assert client.get("/healthz").content == b"failed: file store"
