"""Rows written by hand (`core.rows.insert`) are the rows the ORM would write."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.core import rows
from portal.core.models import OutgoingEmail

pytestmark = pytest.mark.django_db


def test_rows_come_back_in_order_with_their_own_and_shared_values_and_the_defaults() -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    to = ["c@example.com", "a@example.com", "b@example.com"]
    keys = rows.insert(
        OutgoingEmail,
        [{"to": address} for address in to],
        same={"template": "t", "subject": "S", "created_at": at, "next_attempt_at": at},
    )
    written = OutgoingEmail.objects.in_bulk(keys)
    assert [written[key].to for key in keys] == to  # each key is its own row's
    for key in keys:
        email = written[key]
        assert (email.template, email.subject, email.created_at) == ("t", "S", at)
        assert email.status == OutgoingEmail.Status.QUEUED and email.attempts == 0  # plain defaults
        assert email.text_body == "" and email.attempted_at is None
    # A default made by a function is made for each row: every e-mail its own Message-ID.
    assert len({written[key].message_id for key in keys}) == 3


def test_nothing_to_write_writes_nothing() -> None:
    assert rows.insert(OutgoingEmail, [], same={"template": "t"}) == []
    assert not OutgoingEmail.objects.exists()
