"""Send pressed several times at once: one message, no error page, no draft left behind.

Paula's phone sends the same form four times in a second (a double tap, a
flaky network). Whatever order the requests run in, she gets one message with
one copy of her file, and every request answers with the conversation.
"""

from __future__ import annotations

import http.client
import re
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.http import Http404
from django.test import Client

from portal.accounts.models import User
from portal.clinics.access import team_to_write
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.attachments import Upload, blocking
from portal.messaging.models import Attachment, Draft, Message
from portal.vault.testing import isolated_vault

__all__ = ["isolated_vault"]


@pytest.mark.django_db
def test_two_sends_of_one_form_interleaved_step_by_step(
    world: dict[str, Any], paula: User, isolated_vault: Path
) -> None:
    """A saves, B saves, A attaches, B attaches, A sends, B goes on: B finds A's message."""
    by, token = Actor(paula), uuid.uuid4()
    form = {
        "care_team_id": world["blue"].pk,
        "thread_id": None,
        "category": "general",
        "subject": "Hi",
        "body": "x",
    }
    first = actions.check_save_draft(by=by, send_token=token, **form)
    second = actions.check_save_draft(by=by, send_token=token, **form)
    assert first.pk == second.pk
    assert actions.check_attach_files(by=by, draft_id=first.pk, uploads=[Upload("n.txt", b"note")]) == []
    again = actions.check_attach_files(by=by, draft_id=second.pk, uploads=[Upload("n.txt", b"note")])
    assert [r.duplicate for r in again] == [True] and blocking(again) == []  # nothing lost: not a stop
    sent = actions.check_send_draft(by=by, draft_id=first.pk)
    with pytest.raises(Http404):
        actions.check_attach_files(by=by, draft_id=second.pk, uploads=[Upload("m.txt", b"more")])
    with pytest.raises(Http404):
        actions.check_send_draft(by=by, draft_id=second.pk)
    assert actions.already_sent(by=by, send_token=token) == sent
    with pytest.raises(actions.AlreadySent):
        actions.check_save_draft(by=by, send_token=token, **form)
    assert Message.objects.count() == 1 and Attachment.objects.get().message_id == sent.pk
    assert not Draft.objects.exists()
    stored = [p for p in (isolated_vault / "vault-files").rglob("*") if p.is_file()]
    assert len(stored) == 1  # the one note; the refused attach of m.txt left nothing behind


@pytest.mark.django_db(transaction=True)
def test_four_sends_at_once_through_the_live_server(
    world: dict[str, Any],
    paula: User,
    signed_in: Callable[[User], Client],
    live_server: Any,
    isolated_vault: Path,
) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database is one connection, shared by the live server's threads")
    session = signed_in(paula).cookies[settings.SESSION_COOKIE_NAME].value
    host = urlsplit(live_server.url)
    cookies = {settings.SESSION_COOKIE_NAME: session}

    def request(method: str, path: str, body: bytes = b"", content_type: str = "") -> tuple[int, str, str]:
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
        headers = {
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "Referer": live_server.url + path,
        }
        if content_type:
            headers["Content-Type"] = content_type
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                cookies[key] = rest.split(";", 1)[0]
        conn.close()
        return response.status, response.getheader("Location") or "", text

    status, _, page = request("GET", "/messages/new/")
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert status == 200 and found is not None
    token = str(uuid.uuid4())
    boundary = "----portal" + uuid.uuid4().hex
    fields = {
        "csrfmiddlewaretoken": found.group(1),
        "send_token": token,
        "care_team": str(world["blue"].pk),
        "category": "general",
        "subject": "Double tap",
        "body": "Sent once, please",
        "action": "send",
    }
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="note.txt"\r\n'
        "Content-Type: text/plain\r\n\r\nmy note\r\n"
    )
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    answers: list[tuple[int, str, str]] = []
    start = threading.Barrier(4)

    def send() -> None:
        start.wait()
        answers.append(request("POST", "/messages/new/", body, f"multipart/form-data; boundary={boundary}"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    message = Message.objects.get(send_token=token)
    assert [(status, location) for status, location, _ in answers] == [
        (302, f"/messages/threads/{message.thread_id}/")
    ] * 4, [(s, loc, text[:300]) for s, loc, text in answers]
    assert Message.objects.count() == 1
    assert Attachment.objects.filter(message=message).count() == 1
    assert not Draft.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_sends_as_posted_and_autosaves_of_one_form_at_once_leave_one_message_and_no_draft(
    world: dict[str, Any], paula: User, isolated_vault: Path
) -> None:
    """Ten Sends of a form with no draft (sent as posted, or the draft's way when an autosave got
    there first) and ten autosaves of it, all at once: one message, every Send answers with it,
    and no autosave brings a draft back after the Send."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent connections: PostgreSQL (SQLite runs one writer at a time)")
    by, token = Actor(paula), uuid.uuid4()
    team = team_to_write(paula, world["blue"].pk)  # the door the compose form's team comes through
    assert team is not None
    form = {"category": "general", "subject": "Hi", "body": "Sent once"}
    start = threading.Barrier(20)
    sent: list[int] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            start.wait()
            try:
                message = actions.check_send_new(by=by, send_token=token, care_team=team, **form)
            except actions.AlreadySent as done:
                message = done.sent
            except actions.DraftNeeded:
                try:
                    draft = actions.check_save_draft(
                        by=by, send_token=token, care_team_id=team.pk, thread_id=None, **form
                    )
                    message = actions.check_send_draft(by=by, draft_id=draft.pk, saved=draft)
                except actions.AlreadySent as done:
                    message = done.sent
                except Http404:
                    message = actions.already_sent(by=by, send_token=token)
            assert message is not None
            sent.append(message.pk)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    def autosave() -> None:
        try:
            start.wait()
            actions.check_save_draft(by=by, send_token=token, care_team_id=team.pk, thread_id=None, **form)
        except (actions.AlreadySent, Http404):
            pass
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(10)]
    threads += [threading.Thread(target=autosave) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    message = Message.objects.get(send_token=token)
    assert sent == [message.pk] * 10
    assert not Draft.objects.filter(send_token=token).exists()


@pytest.mark.django_db(transaction=True)
def test_an_autosave_that_waited_on_a_send_as_posted_finds_the_message(
    world: dict[str, Any], paula: User, isolated_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Step by step: the Send holds the form's token (its bare draft row) and stops before its
    commit; the autosave's insert waits on the token; the Send commits; the autosave then finds
    the message and keeps no draft."""
    from portal.messaging.actions import sending

    if connection.vendor != "postgresql":
        pytest.skip("two connections at once: PostgreSQL (SQLite runs one writer at a time)")
    by, token = Actor(paula), uuid.uuid4()
    team = team_to_write(paula, world["blue"].pk)  # the door the compose form's team comes through
    assert team is not None
    form = {"category": "general", "subject": "Hi", "body": "Sent once"}
    held, go = threading.Event(), threading.Event()
    real = sending.already_sent

    def paused(**kwargs: Any) -> Message | None:
        held.set()
        assert go.wait(30)
        return real(**kwargs)

    monkeypatch.setattr(sending, "already_sent", paused)
    outcome: list[object] = []

    def send() -> None:
        try:
            outcome.append(actions.check_send_new(by=by, send_token=token, care_team=team, **form))
        finally:
            connection.close()

    def autosave() -> None:
        try:
            actions.check_save_draft(by=by, send_token=token, care_team_id=team.pk, thread_id=None, **form)
            outcome.append("draft saved")
        except actions.AlreadySent:
            outcome.append("already sent")
        finally:
            connection.close()

    sender = threading.Thread(target=send)
    sender.start()
    assert held.wait(30)
    saver = threading.Thread(target=autosave)
    saver.start()
    with connection.cursor() as cursor:  # the autosave's insert waits on the Send's token row
        for _ in range(3000):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                break
        else:
            pytest.fail("the autosave never waited on the Send")
    go.set()
    sender.join(30)
    saver.join(30)
    assert sorted(type(o).__name__ for o in outcome) == ["Message", "str"] and "already sent" in outcome
    assert not Draft.objects.filter(send_token=token).exists()
