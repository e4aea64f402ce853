"""Drafts and an ended session, on the server's side.

Paula (patient, Team Blue) writes a message; the page saves it by itself. A
save that arrives after her session ended must not be taken (the session is
gone) and must not pass for saved: it is sent to the sign-in page, which the
page's script recognizes and tells her about. Once she signs in again, a save
with a fresh form token goes to the same draft. Files chosen on the page are
saved with the draft as soon as they are chosen. Eve (another patient) and
Dr. Diaz (staff) cannot save into Paula's draft.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import PASSWORD, finish_first_steps, sign_in
from portal.accounts import sessions
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.messaging.models import Attachment, Draft, Message
from portal.messaging.selectors import draft_view
from portal.messaging.tests.helpers import PDF, patient_writes

AUTOSAVE = "/messages/drafts/autosave/"


def _form(team_id: int, token: uuid.UUID, **fields: Any) -> dict[str, Any]:
    return {
        "send_token": str(token),
        "care_team": team_id,
        "category": "medication",
        "subject": "Refill question",
        "body": "Can the pharmacy hold my inhaler?",
        **fields,
    }


def _signed_in(user: User) -> Client:
    finish_first_steps(user)
    client = Client()
    assert sign_in(client, user).status_code == 302
    return client


def _token_on(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _sign_in_as_a_browser(client: Client, user: User) -> None:
    """The sign-in form with its CSRF token, as a browser posts it (the client checks CSRF)."""
    page = client.get("/account/sign-in/").content.decode()
    answer = client.post(
        "/account/sign-in/",
        {"username": user.username, "password": PASSWORD, "csrfmiddlewaretoken": _token_on(page)},
    )
    assert answer.status_code == 302, answer.content[:300]


def _idle_for_an_hour(client: Client) -> None:
    session = client.session
    session[sessions.LAST_ACTIVITY] = int(time.time()) - 3600
    session.save()


def _text_of(draft: Draft, user: User) -> tuple[str, str]:
    view = draft_view(user, draft)
    return view.subject, view.body


@pytest.mark.django_db
def test_a_save_after_the_idle_timeout_is_not_taken_and_goes_to_sign_in(
    world: dict[str, Any], paula: User
) -> None:
    """The save is answered with the sign-in page (never a JSON "saved"), the draft keeps its
    last saved text, the timeout is audited, and the sign-in page says why."""
    client = _signed_in(paula)
    token = uuid.uuid4()
    assert client.post(AUTOSAVE, _form(world["blue"].pk, token)).status_code == 200
    _idle_for_an_hour(client)

    late = client.post(
        AUTOSAVE,
        _form(world["blue"].pk, token, body="Typed after the timeout"),
        HTTP_REFERER="http://testserver/messages/new/",
    )
    assert late.status_code == 302
    assert late["Location"].startswith("/account/sign-in/?next=")
    assert late["Content-Type"].startswith("text/html")  # not JSON: the script cannot take it for saved
    assert _text_of(Draft.objects.get(), paula) == ("Refill question", "Can the pharmacy hold my inhaler?")
    assert AuditEvent.objects.filter(action="session_timeout", actor_id=paula.pk).count() == 1
    assert "without activity" in client.get(late["Location"]).content.decode()
    # The session is gone: the next save is sent to sign in too, and takes nothing.
    again = client.post(AUTOSAVE, _form(world["blue"].pk, token, body="Still typing"))
    assert again.status_code == 302 and again["Location"].startswith("/account/sign-in/")
    assert _text_of(Draft.objects.get(), paula)[1] == "Can the pharmacy hold my inhaler?"


@pytest.mark.django_db
def test_signed_in_again_a_save_with_a_fresh_token_reaches_the_same_draft(
    world: dict[str, Any], paula: User
) -> None:
    """What the page's Save my draft relies on: after signing in again the old form token is
    refused (403), a token from the sign-in page's answer is taken, and the text goes to the
    draft the page had, not a new one."""
    finish_first_steps(paula)
    client = Client(enforce_csrf_checks=True)
    _sign_in_as_a_browser(client, paula)
    old_token = _token_on(client.get("/messages/new/").content.decode())
    send_token = uuid.uuid4()
    first = client.post(AUTOSAVE, _form(world["blue"].pk, send_token, csrfmiddlewaretoken=old_token))
    assert first.status_code == 200
    _idle_for_an_hour(client)
    late = client.post(AUTOSAVE, _form(world["blue"].pk, send_token, csrfmiddlewaretoken=old_token))
    assert late.status_code == 302

    # Signed in again (in another tab: same browser, same cookies).
    _sign_in_as_a_browser(client, paula)
    typed = _form(world["blue"].pk, send_token, body="Typed while signed out", csrfmiddlewaretoken=old_token)
    assert client.post(AUTOSAVE, typed).status_code == 403
    fresh = _token_on(client.get("/account/sign-in/", follow=True).content.decode())
    saved = client.post(AUTOSAVE, {**typed, "csrfmiddlewaretoken": fresh})
    assert saved.status_code == 200
    draft = Draft.objects.get()
    assert saved.json()["draft_url"] == f"/messages/drafts/{draft.pk}/"
    assert _text_of(draft, paula)[1] == "Typed while signed out"


@pytest.mark.django_db
def test_files_chosen_on_the_page_are_saved_with_the_draft_at_once(
    world: dict[str, Any], paula: User
) -> None:
    """The autosave takes the files too: accepted ones are listed in the answer (with their
    download and remove addresses), refused ones by name and reason; the draft sends with them."""
    client = _signed_in(paula)
    token = uuid.uuid4()
    answer = client.post(
        AUTOSAVE,
        _form(
            world["blue"].pk,
            token,
            attachments=[SimpleUploadedFile("knee-report.pdf", PDF), SimpleUploadedFile("empty.txt", b"")],
        ),
    ).json()
    attachment = Attachment.objects.get()
    assert answer["attached"] == [
        {
            "id": attachment.pk,
            "name": "knee-report.pdf",
            "size": "45\xa0bytes",
            "url": f"/messages/attachments/{attachment.pk}/",
            "remove_url": f"/messages/attachments/{attachment.pk}/remove/",
        }
    ]
    assert [r["name"] for r in answer["refused"]] == ["empty.txt"]
    assert answer["draft_url"] == f"/messages/drafts/{attachment.draft_id}/"

    # The same file chosen again is refused as a duplicate, and nothing is listed twice.
    again = client.post(
        AUTOSAVE, _form(world["blue"].pk, token, attachments=[SimpleUploadedFile("copy.pdf", PDF)])
    )
    assert again.json()["attached"] == [] and "already attached" in again.json()["refused"][0]["reason"]
    assert Attachment.objects.count() == 1

    sent = client.post("/messages/new/", _form(world["blue"].pk, token, action="send"))
    assert sent.status_code == 302
    assert Attachment.objects.get().message == Message.objects.get()


@pytest.mark.django_db
def test_a_reply_drafts_file_is_saved_with_it(world: dict[str, Any], paula: User) -> None:
    thread = patient_writes(paula, world["blue"]).thread
    client = _signed_in(paula)
    answer = client.post(
        AUTOSAVE,
        {
            "send_token": str(uuid.uuid4()),
            "thread": thread.pk,
            "body": "Here is the photo.",
            "attachments": [SimpleUploadedFile("rash.pdf", PDF)],
        },
    ).json()
    draft = Draft.objects.get()
    assert draft.thread == thread and [f["name"] for f in answer["attached"]] == ["rash.pdf"]
    opened = client.get(answer["draft_url"])
    assert (
        opened.status_code == 302
        and opened["Location"] == f"/messages/threads/{thread.pk}/?draft={draft.pk}#reply"
    )


@pytest.mark.django_db
def test_nobody_else_saves_files_into_paulas_draft(
    world: dict[str, Any], paula: User, eve: User, dr_diaz: User
) -> None:
    """Eve, with the token of Paula's form, and Dr. Diaz, who has no patient mailbox: not found."""
    token = uuid.uuid4()
    paulas = _signed_in(paula)
    assert paulas.post(AUTOSAVE, _form(world["blue"].pk, token)).status_code == 200
    for other in (eve, dr_diaz):
        client = _signed_in(other)
        answer = client.post(
            AUTOSAVE, _form(world["gold"].pk, token, attachments=[SimpleUploadedFile("x.pdf", PDF)])
        )
        assert answer.status_code == 404
    assert not Attachment.objects.exists()
    assert _text_of(Draft.objects.get(), paula)[0] == "Refill question"
