"""Every refused access leaves an `access.denied` event, and answers exactly as "not there".

Paula has a conversation with Team Blue, a file in it, a draft and a folder.
Eve (another patient) and Nora (Team Gold's nurse) ask for each of them by id:
each answer is the same 404 as for an id that does not exist, byte for byte,
and each ask, the missing ids included, is on the record with the asker, the
kind of object and the id. A refusal inside an action's transaction is
recorded although that transaction rolls back."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.clinics.access import access_patient
from portal.core.acting import Actor, Denied
from portal.messaging.actions import check_create_folder
from portal.messaging.attachments import Upload
from portal.messaging.tests.helpers import PNG_1x1, patient_writes, staff_drafts

pytestmark = pytest.mark.django_db
MISSING = 987654


def _unmasked(page: bytes) -> bytes:
    """The page without what differs on every response alike: Django masks the CSRF token
    (and the CSP nonce is drawn) anew for each one, for "not yours" and "not there" the same."""
    page = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"csrf", page)
    return re.sub(rb'nonce="[^"]+"', b"nonce", page)


def _denied(actor: User) -> list[tuple[str, str]]:
    events = AuditEvent.objects.filter(action="access.denied", actor_id=actor.pk).order_by("pk")
    assert all(e.outcome == AuditEvent.Outcome.DENIED and e.patient_id is None for e in events)
    return [(e.object_type, e.object_id) for e in events]


@pytest.fixture
def paulas(paula: User, dr_diaz: User, world: dict[str, Any]) -> dict[str, int]:
    message = patient_writes(paula, world["blue"], files=[Upload(name="rash.png", content=PNG_1x1)])
    folder = check_create_folder(by=Actor(paula), name="Knee")
    draft = staff_drafts(dr_diaz, message.thread_id)
    return {
        "thread": message.thread_id,
        "attachment": message.attachments.get().pk,
        "folder": folder.pk,
        "draft": draft.pk,
    }


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("thread", "/messages/threads/{}/"),
        ("attachment", "/messages/attachments/{}/"),
        ("folder", "/messages/folders/{}/"),
    ],
)
def test_eve_is_refused_paulas_objects_as_if_they_did_not_exist(
    kind: str, url: str, paulas: dict[str, int], eve: User, signed_in: Callable[[User], Client]
) -> None:
    client = signed_in(eve)
    theirs = client.get(url.format(paulas[kind]))
    missing = client.get(url.format(MISSING))
    assert theirs.status_code == missing.status_code == 404
    assert _unmasked(theirs.content) == _unmasked(missing.content)
    assert dict(theirs.items()).keys() == dict(missing.items()).keys()
    assert _denied(eve) == [(kind, str(paulas[kind])), (kind, str(MISSING))]


def test_nora_is_refused_team_blues_thread_and_drafts(
    paulas: dict[str, int], nurse_nolan: User, signed_in: Callable[[User], Client]
) -> None:
    client = signed_in(nurse_nolan)
    assert client.get(f"/staff/messages/threads/{paulas['thread']}/").status_code == 404
    assert client.post(f"/staff/messages/drafts/{paulas['draft']}/discard/").status_code == 404
    assert _denied(nurse_nolan) == [("thread", str(paulas["thread"])), ("draft", str(paulas["draft"]))]


def test_the_patient_door_refuses_and_says_who_asked(paula: User, eve: User) -> None:
    with pytest.raises(Denied) as refused:
        access_patient(eve, paula.patient.pk)
    assert (refused.value.actor_id, refused.value.kind, refused.value.object_id) == (
        eve.pk,
        "patient",
        paula.patient.pk,
    )


@pytest.mark.django_db(transaction=True)
def test_a_refusal_inside_a_rolled_back_transaction_is_still_recorded(
    paula: User, nurse_nolan: User, world: dict[str, Any], signed_in: Callable[[User], Client]
) -> None:
    """Nora's reply is refused inside the send's transaction, which rolls back: the event stays."""
    thread_id = patient_writes(paula, world["blue"]).thread_id
    client = signed_in(nurse_nolan)
    response = client.post(
        f"/staff/messages/threads/{thread_id}/reply/", {"send_token": str(uuid.uuid4()), "body": "Hi"}
    )
    assert response.status_code == 404
    assert ("thread", str(thread_id)) in _denied(nurse_nolan)
    # And committed for good: another connection's view of the log has it.
    assert AuditEvent.objects.filter(action="access.denied", actor_id=nurse_nolan.pk).exists()


def test_a_burst_of_refusals_is_logged_once_with_ids_only(
    eve: User, signed_in: Callable[[User], Client], settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.PORTAL_DENIED_ALERT_COUNT = 3
    client = signed_in(eve)
    with caplog.at_level(logging.WARNING, logger="portal.audit"):
        for n in range(5):
            client.get(f"/messages/threads/{MISSING + n}/")
    alerts = [r.getMessage() for r in caplog.records if r.name == "portal.audit"]
    assert alerts == [f"audit: user {eve.pk} was refused 3 times in 10 minutes"]
