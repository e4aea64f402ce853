"""20 refill requests for one prescription at once make exactly one; the others are told
"A refill is already in progress". The same for renewals. On PostgreSQL: each thread has
its own connection, and the partial unique index decides (SQLite's test database is one
connection, so it cannot race)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from portal.core.acting import Actor, Refused
from portal.medications import actions
from portal.medications.models import RefillRequest, RenewalRequest
from portal.messaging.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)
PARALLEL = 20


def at_once(work: Callable[[], str]) -> list[str]:
    answers: list[str] = []
    start = threading.Barrier(PARALLEL)

    def run() -> None:
        try:
            start.wait()
            answers.append(work())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def need_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite's test database is one shared connection")


def test_twenty_refill_requests_at_once_make_one(paula: Any, paula_meds: dict, pharmacy: Any) -> None:
    need_postgres()
    rx = paula_meds["metformin"]

    def ask() -> str:
        [outcome] = actions.check_request_refills(
            by=Actor(paula), prescription_ids=[rx.pk], delivery="pickup", pharmacy_id=pharmacy.pk
        )
        return "submitted" if outcome.request is not None else outcome.refusal

    answers = at_once(ask)
    assert sorted(answers) == ["A refill is already in progress."] * (PARALLEL - 1) + ["submitted"]
    assert RefillRequest.objects.filter(prescription=rx).count() == 1


def test_twenty_renewals_at_once_make_one_and_one_message(paula: Any, paula_meds: dict) -> None:
    need_postgres()
    rx = paula_meds["lisinopril"]

    def ask() -> str:
        try:
            actions.check_request_renewal(by=Actor(paula), prescription_id=rx.pk, note="")
        except Refused as refused:
            return refused.message
        return "sent"

    answers = at_once(ask)
    assert answers.count("sent") == 1
    assert set(answers) == {"sent", actions.RENEWAL_IN_PROGRESS}
    assert RenewalRequest.objects.count() == 1 and Thread.objects.count() == 1
