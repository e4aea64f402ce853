"""A conversation about a renewal request (registered with portal.core.about).

A renewal request goes to the care team as a secure message; the thread links back to the
renewal's page, where the team records the answer (staff) or the patient sees it."""

from __future__ import annotations

from django.urls import reverse

from portal.accounts.models import User
from portal.core import about
from portal.core.acting import Actor
from portal.medications.access import access_renewal


def _check(user: User, renewal_id: int) -> int:
    return access_renewal(user, renewal_id).patient_id


def _describe(by: Actor, renewal_id: int) -> about.Item:
    renewal = access_renewal(by.user, renewal_id)
    return about.Item("renewal_request", renewal.pk, renewal.patient_id, "Renewal request", "medication")


def register() -> None:
    about.register(
        about.Kind(
            "renewal_request",
            "renewal request",
            _check,
            _describe,
            lambda pk: reverse("medications:requests") + f"#renewal-{pk}",
            lambda patient_id, pk: reverse("medications_staff:renewal", args=[pk]),
        )
    )
