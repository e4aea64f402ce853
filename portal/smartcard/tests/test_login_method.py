"""Every audit event of a session says how that session was signed in, not only the sign-in.

Paula signs in with her card and opens and answers a conversation: those events
say `smart_card`. Dr. Diaz signs in with his password and authenticator code
and opens and answers the same conversation: his say `password+totp`."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.test import Client

from conftest import finish_first_steps, sign_in
from portal.accounts.models import User
from portal.audit import log as audit
from portal.audit.models import AuditEvent
from portal.core.acting import Actor
from portal.messaging.tests.helpers import patient_writes
from portal.smartcard.actions import do_link_card
from portal.smartcard.presented import TLS_ENVIRON_KEY
from portal.smartcard.testpki import CardPKI
from portal.smartcard.validation import validate_card
from portal.vault.testing import isolated_vault

pytestmark = pytest.mark.django_db
__all__ = ["isolated_vault"]


@pytest.fixture(autouse=True)
def _own_vault(isolated_vault: Path) -> Path:
    return isolated_vault


def _events_after(first_id: int, actor: User) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=first_id, actor_id=actor.pk).order_by("pk"))


def test_card_and_password_totp_sessions_mark_every_later_event(
    paula: User, dr_diaz: User, world: dict[str, object], pki: CardPKI
) -> None:
    thread = patient_writes(paula, world["blue"]).thread  # type: ignore[arg-type]
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    finish_first_steps(paula)
    do_link_card(by=Actor(paula, None), card=validate_card(pki.cards["paula"].der))
    card = Client()
    assert card.get("/account/card/sign-in/", **{TLS_ENVIRON_KEY: pki.cards["paula"].der}).status_code == 302
    assert card.get(f"/messages/threads/{thread.pk}/").status_code == 200
    card.post(f"/messages/threads/{thread.pk}/reply/", {"send_token": str(uuid.uuid4()), "body": "Thanks"})

    finish_first_steps(dr_diaz)
    staff = Client()
    sign_in(staff, dr_diaz)
    assert staff.get(f"/staff/messages/threads/{thread.pk}/").status_code == 200
    staff.post(
        f"/staff/messages/threads/{thread.pk}/reply/", {"send_token": str(uuid.uuid4()), "body": "Sure"}
    )

    # The card was linked before this session (an action outside any request): no method.
    paulas = [e for e in _events_after(before, paula) if e.action != "card_linked"]
    later = {"sign_in", "messaging.thread.read", "messaging.message.sent"}
    assert later <= {e.action for e in paulas}
    assert {e.login_method for e in paulas} == {"smart_card"}
    diaz = _events_after(before, dr_diaz)
    assert later <= {e.action for e in diaz}
    assert {e.login_method for e in diaz} == {"password+totp"}


def test_events_outside_a_signed_in_session_carry_no_method() -> None:
    event = audit.record("record.viewed", actor_id=1)
    assert event.login_method is None
    with audit.login_method("password"):
        assert audit.record("record.viewed", actor_id=1).login_method == "password"
    assert audit.record("record.viewed", actor_id=1).login_method is None


def test_the_method_is_hashed_into_the_chain() -> None:
    with audit.login_method("smart_card"):
        event = audit.record("record.viewed", actor_id=1)
    audit.seal_pending()
    seal_hash = event.seal.row_hash
    event.login_method = "password"
    assert audit.compute_hash(event, event.seal.previous_hash) != seal_hash
