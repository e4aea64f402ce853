"""The accounts app's entry in the primary navigation: Account security, for everyone signed in."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from portal.core.navigation import NavEntry


def security_entry(request: HttpRequest) -> NavEntry:
    # The second step, recovery codes, password and linked cards are all pages of this area.
    return NavEntry(
        "Account security",
        reverse("accounts:security"),
        order=90,
        paths=(reverse("accounts:security"), reverse("smartcard:cards")),
    )
