"""`demo_data` gives the demo patients a medication list in every state the rule knows."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command

from portal.accounts.models import User
from portal.core.acting import Actor
from portal.medications.eligibility import Reason
from portal.medications.models import RefillRequest
from portal.medications.selectors import medications_of


def test_the_demo_has_every_state_and_a_queue(db: Any) -> None:
    call_command("demo_data", verbosity=0)
    paula = User.objects.get(username="paula")
    meds = medications_of(Actor(paula), paula.patient_record.pk)  # type: ignore[union-attr]
    reasons = {row.answer.reason for row in meds.active if not row.answer.eligible}  # type: ignore[union-attr]
    assert {
        Reason.TOO_SOON,
        Reason.NO_REFILLS,
        Reason.EXPIRED,
        Reason.CONTROLLED,
        Reason.NOT_MILITARY,
    } <= reasons
    assert Reason.IN_PROGRESS in reasons
    assert any(row.answer.eligible for row in meds.active)
    assert any(row.answer.renewable for row in meds.active if not row.answer.eligible)  # type: ignore[union-attr]
    assert {"stopped", "completed"} <= {row.status for row in meds.past}
    statuses = set(RefillRequest.objects.values_list("status", flat=True))
    assert statuses == {s.value for s in RefillRequest.Status}
    patel = User.objects.get(username="rx.patel")
    assert patel.staff_record.pharmacies.count() == 1  # type: ignore[union-attr]
    call_command("demo_data", verbosity=0)  # a second run changes nothing
    assert RefillRequest.objects.count() == len(statuses)
