"""The record items a conversation can be about ("Ask my care team about this").

Registered with `portal.core.about` when the app is ready: a lab panel, a clinical note and
an imaging report. Each is found through its own door; its name and date make the subject.
"""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from portal.accounts.models import User
from portal.core import about
from portal.core.acting import Actor, audit_event
from portal.records import access
from portal.records.models import Record
from portal.vault.crypto import keyring
from portal.vault.reading import read_sealed

TEST_RESULT = "test_result"  # the message category of every record item


def _subject(record: Record, fallback: str) -> str:
    name = read_sealed(keyring(record.patient_id), record, "title") or fallback
    if record.effective_at is None:
        return name
    return f"{name}, {date_format(timezone.localtime(record.effective_at), 'M j, Y')}"


def _kind(
    name: str, noun: str, door: Callable[[User, int], Record], patient_url: Callable[[int], str], page: str
) -> about.Kind:
    def check(user: User, item_id: int) -> int:
        return door(user, item_id).patient_id

    def describe(by: Actor, item_id: int) -> about.Item:
        record = door(by.user, item_id)
        # The subject line shows the item's name: a read of the record, like opening its page.
        audit_event(
            f"records.{page}_named",
            by=by,
            patient_id=record.patient_id,
            object_type=name,
            object_id=record.pk,
        )
        return about.Item(
            name, record.pk, record.patient_id, _subject(record, noun.capitalize()), TEST_RESULT
        )

    def staff_url(patient_id: int, item_id: int) -> str:
        # The staff pages live under the patient's id; the patient's path after /record/ is the same.
        base = reverse("staff_record:summary", kwargs={"patient_id": patient_id})
        return base + patient_url(item_id).removeprefix(reverse("record:summary"))

    return about.Kind(name, noun, check, describe, patient_url, staff_url)


def register() -> None:
    about.register(
        _kind(
            "lab_report",
            "lab result",
            access.access_lab_report,
            lambda pk: reverse("record:lab_panel", args=[pk]),
            "lab_panel",
        )
    )
    about.register(
        _kind(
            "note",
            "clinical note",
            access.access_note,
            lambda pk: reverse("record:note", args=[pk]),
            "note",
        )
    )
    about.register(
        _kind(
            "radiology_report",
            "imaging report",
            access.access_radiology_report,
            lambda pk: reverse("record:imaging") + f"#report-{pk}",
            "imaging_report",
        )
    )
