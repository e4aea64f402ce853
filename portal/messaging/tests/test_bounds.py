"""Bounded input: drafts obey the limits of a message, and a file store that fails loses nothing typed.

Paula (patient, Team Blue) writes; the tests post straight to the autosave address as a
hostile client would, and through the pages. Dr. Diaz (Team Blue) saves reply drafts the
same way. The file store is made to fail as a full disk (ENOSPC) and a read-only mount (EROFS).
"""

from __future__ import annotations

import errno
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import finish_first_steps, sign_in
from portal.accounts.models import User
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.attachments import Upload, safe_name, screen
from portal.messaging.models import Attachment, Draft, Message
from portal.messaging.selectors import draft_view
from portal.messaging.tests.helpers import PDF, PNG_1x1, patient_writes
from portal.messaging.views.common import FILE_NOT_SAVED
from portal.vault.storage import AtomicFileSystemStorage

pytestmark = pytest.mark.django_db

AUTOSAVE = "/messages/drafts/autosave/"


def _form(team_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "send_token": str(uuid.uuid4()),
        "care_team": team_id,
        "category": "medication",
        "subject": "Refill question",
        "body": "Can the pharmacy hold my inhaler?",
        **fields,
    }


def _stored(vault: Path) -> list[Path]:
    return [path for path in (vault / "vault-files").rglob("*") if path.is_file()]


# Lengths ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"subject": "x" * 51}, "subject", "Shorten the subject to 50 characters or fewer"),
        ({"body": "y" * 10_001}, "body", "Shorten the message to 10,000 characters or fewer"),
        ({"body": "y" * 2_000_000}, "body", "Shorten the message to 10,000 characters or fewer"),
    ],
)
def test_autosave_refuses_what_could_never_be_sent(  # noqa: PLR0917 - pytest fixtures
    world: dict[str, Any],
    paula: User,
    signed_in: Callable[[User], Client],
    fields: dict[str, str],
    field: str,
    words: str,
) -> None:
    """A hostile client posting a 51-character subject or a 2 MB body to the autosave address
    gets a 400 with the message to show, and nothing is stored."""
    client = signed_in(paula)
    answer = client.post(AUTOSAVE, _form(world["blue"].pk, **fields))
    assert answer.status_code == 400
    assert answer.json()["field"] == field
    assert words in answer.json()["error"]
    assert not Draft.objects.exists()


def test_a_saved_draft_is_not_overwritten_by_a_too_long_save(
    world: dict[str, Any], paula: User, signed_in: Callable[[User], Client]
) -> None:
    """The draft keeps its last good text; the refused save changes nothing."""
    client = signed_in(paula)
    form = _form(world["blue"].pk)
    assert client.post(AUTOSAVE, form).status_code == 200
    assert client.post(AUTOSAVE, {**form, "body": "z" * 10_001}).status_code == 400
    assert draft_view(paula, Draft.objects.get()).body == "Can the pharmacy hold my inhaler?"


def test_the_staff_autosave_refuses_a_too_long_reply(
    world: dict[str, Any], paula: User, dr_diaz: User, signed_in: Callable[[User], Client]
) -> None:
    thread = patient_writes(paula, world["blue"]).thread
    client = signed_in(dr_diaz)
    answer = client.post(
        f"/staff/messages/threads/{thread.pk}/draft/", {"send_token": str(uuid.uuid4()), "body": "w" * 10_001}
    )
    assert answer.status_code == 400
    assert "Shorten the message to 10,000 characters" in answer.json()["error"]
    assert not Draft.objects.exists()


def test_the_compose_page_refuses_a_too_long_subject_and_keeps_what_was_typed(
    world: dict[str, Any], paula: User, signed_in: Callable[[User], Client]
) -> None:
    client = signed_in(paula)
    long_subject = "About my knee and the brace that the clinic ordered for me last week"
    page = client.post("/messages/new/", _form(world["blue"].pk, subject=long_subject, action="save"))
    assert page.status_code == 400
    html = page.content.decode()
    assert "Shorten the subject to 50 characters or fewer" in html
    assert long_subject in html and "Can the pharmacy hold my inhaler?" in html
    assert not Draft.objects.exists()


# How many drafts, and how many bytes of files on them ---------------------------------------------


def test_a_new_draft_beyond_the_limit_is_refused_and_says_what_to_do(
    world: dict[str, Any], paula: User, signed_in: Callable[[User], Client], settings: Any
) -> None:
    """With PORTAL_MAX_DRAFTS=3, the fourth form's save is refused in words; the three drafts
    still take their saves, and one sent makes room again."""
    settings.PORTAL_MAX_DRAFTS = 3
    client = signed_in(paula)
    forms = [_form(world["blue"].pk) for _ in range(3)]
    for form in forms:
        assert client.post(AUTOSAVE, form).status_code == 200
    refused = client.post(AUTOSAVE, _form(world["blue"].pk))
    assert refused.status_code == 400
    assert refused.json()["error"] == "You have 3 unsent drafts. Send or delete some to save this one."
    assert Draft.objects.count() == 3
    assert client.post(AUTOSAVE, {**forms[0], "body": "Changed"}).status_code == 200  # existing: fine

    fourth = _form(world["blue"].pk, body="Typed on the fourth form")
    page = client.post("/messages/new/", {**fourth, "action": "save"})
    assert page.status_code == 400
    assert "You have 3 unsent drafts. Send or delete some to save this one." in page.content.decode()
    assert "Typed on the fourth form" in page.content.decode()
    # Its Send needs no draft: it goes, and the three drafts stay as they were.
    sent = client.post("/messages/new/", {**fourth, "action": "send"})
    assert sent.status_code == 302 and Message.objects.filter(send_token=fourth["send_token"]).exists()
    assert Draft.objects.count() == 3

    client.post("/messages/new/", {**forms[1], "action": "send"})
    assert Draft.objects.count() == 2
    assert client.post(AUTOSAVE, _form(world["blue"].pk)).status_code == 200


def test_draft_files_have_a_total_across_all_drafts(
    world: dict[str, Any], paula: User, signed_in: Callable[[User], Client], settings: Any
) -> None:
    """With PORTAL_MAX_DRAFT_FILE_BYTES=100, a file that would take Paula's drafts over 100 bytes
    is refused by name, on any draft; sending a draft frees its share."""
    settings.PORTAL_MAX_DRAFT_FILE_BYTES = 100
    client = signed_in(paula)
    first = _form(world["blue"].pk, attachments=[SimpleUploadedFile("a.pdf", PDF)])  # 45 bytes
    assert client.post(AUTOSAVE, first).json()["attached"]
    second = _form(world["blue"].pk, attachments=[SimpleUploadedFile("b.txt", b"b" * 50)])
    assert client.post(AUTOSAVE, second).json()["attached"]  # 95 bytes on two drafts
    third = client.post(
        AUTOSAVE, _form(world["blue"].pk, attachments=[SimpleUploadedFile("c.txt", b"c" * 10)])
    ).json()
    assert third["attached"] == []
    assert third["refused"][0]["name"] == "c.txt"
    assert "unsent drafts already hold" in third["refused"][0]["reason"]
    assert Attachment.objects.count() == 2

    client.post("/messages/new/", {**first, "attachments": [], "action": "send"})  # its file goes with it
    again = client.post(
        AUTOSAVE, _form(world["blue"].pk, attachments=[SimpleUploadedFile("c.txt", b"c" * 10)])
    ).json()
    assert [file["name"] for file in again["attached"]] == ["c.txt"]


# File names -------------------------------------------------------------------------------------


def test_a_long_file_name_keeps_its_ending_when_shortened() -> None:
    name = "Results of the knee MRI " * 20 + "final.pdf"
    kept = safe_name(name)
    assert len(kept) == 200 and kept.endswith("final.pdf") is False and kept.endswith(".pdf")
    accepted, refused = screen([Upload(name, PDF)], kept=[])
    assert refused == [] and accepted[0].name.endswith(".pdf") and len(accepted[0].name) <= 200


def test_a_long_name_cannot_hide_a_refused_ending() -> None:
    """Cut at 200 characters, "....hta" used to lose its ending and pass as text (.txt added)."""
    accepted, refused = screen([Upload("a" * 300 + ".hta", b"plain words")], kept=[])
    assert accepted == [] and "end in .hta" in refused[0].reason


# A file store that fails ------------------------------------------------------------------------


def _failing_store(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    def refuse(self: AtomicFileSystemStorage, name: str, content: Any) -> str:
        raise OSError(code, "simulated")

    monkeypatch.setattr(AtomicFileSystemStorage, "_save", refuse)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_autosave_with_a_file_the_store_refuses_says_so_and_keeps_the_text(  # noqa: PLR0917 - pytest fixtures
    world: dict[str, Any],
    paula: User,
    signed_in: Callable[[User], Client],
    monkeypatch: pytest.MonkeyPatch,
    isolated_vault: Path,
    code: int,
) -> None:
    client = signed_in(paula)
    _failing_store(monkeypatch, code)
    answer = client.post(AUTOSAVE, _form(world["blue"].pk, attachments=[SimpleUploadedFile("knee.pdf", PDF)]))
    assert answer.status_code == 503
    assert answer.json()["error"] == FILE_NOT_SAVED
    assert answer.json()["saved_at"]  # the text is saved
    assert draft_view(paula, Draft.objects.get()).body == "Can the pharmacy hold my inhaler?"
    assert not Attachment.objects.exists() and _stored(isolated_vault) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_send_with_a_file_the_store_refuses_keeps_the_draft_and_sends_nothing(  # noqa: PLR0917 - pytest fixtures
    world: dict[str, Any],
    paula: User,
    signed_in: Callable[[User], Client],
    monkeypatch: pytest.MonkeyPatch,
    isolated_vault: Path,
    code: int,
) -> None:
    client = signed_in(paula)
    _failing_store(monkeypatch, code)
    page = client.post(
        "/messages/new/",
        _form(world["blue"].pk, action="send", attachments=[SimpleUploadedFile("knee.pdf", PDF)]),
    )
    assert page.status_code == 503
    html = page.content.decode()
    assert FILE_NOT_SAVED.replace("'", "&#x27;") in html
    assert "Can the pharmacy hold my inhaler?" in html
    assert not Message.objects.exists() and Draft.objects.count() == 1
    assert _stored(isolated_vault) == []


def test_a_reply_and_a_staff_reply_say_the_same_when_the_store_is_full(
    world: dict[str, Any],
    paula: User,
    dr_diaz: User,
    signed_in: Callable[[User], Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    thread = patient_writes(paula, world["blue"]).thread
    client = signed_in(dr_diaz)
    _failing_store(monkeypatch, errno.ENOSPC)
    page = client.post(
        f"/staff/messages/threads/{thread.pk}/reply/",
        {
            "send_token": str(uuid.uuid4()),
            "body": "See the plan",
            "attachments": [SimpleUploadedFile("p.pdf", PDF)],
        },
    )
    assert page.status_code == 503
    assert FILE_NOT_SAVED.replace("'", "&#x27;") in page.content.decode()
    assert thread.messages.count() == 1 and Draft.objects.filter(author=dr_diaz).count() == 1

    paula_client = Client()
    finish_first_steps(paula)
    sign_in(paula_client, paula)
    reply = paula_client.post(
        f"/messages/threads/{thread.pk}/reply/",
        {
            "send_token": str(uuid.uuid4()),
            "body": "Here it is",
            "attachments": [SimpleUploadedFile("k.pdf", PDF)],
        },
    )
    assert reply.status_code == 503
    assert FILE_NOT_SAVED.replace("'", "&#x27;") in reply.content.decode()
    assert thread.messages.count() == 1


def test_a_failed_attach_in_the_action_leaves_the_draft_and_no_file(
    world: dict[str, Any], paula: User, monkeypatch: pytest.MonkeyPatch, isolated_vault: Path
) -> None:
    """The action raises FileStoreUnavailable; files written earlier in the same call go too."""
    from portal.vault.files import FileStoreUnavailable

    by = Actor(paula)
    draft = actions.check_save_draft(
        by=by,
        send_token=uuid.uuid4(),
        care_team_id=world["blue"].pk,
        thread_id=None,
        category="general",
        subject="s",
        body="b",
    )
    calls = {"n": 0}
    real = AtomicFileSystemStorage._save

    def second_fails(self: AtomicFileSystemStorage, name: str, content: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "simulated")
        return real(self, name, content)

    monkeypatch.setattr(AtomicFileSystemStorage, "_save", second_fails)
    with pytest.raises(FileStoreUnavailable):
        actions.check_attach_files(
            by=by, draft_id=draft.pk, uploads=[Upload("a.pdf", PDF), Upload("b.png", PNG_1x1)]
        )
    assert Draft.objects.filter(pk=draft.pk).exists()
    assert not Attachment.objects.exists() and _stored(isolated_vault) == []
