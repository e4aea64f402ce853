"""A bench's test client, agreed to the DoD notice and consent as a browser is before it signs in."""

from __future__ import annotations

from django.test import Client

from portal.accounts import consent


def agreed_client() -> Client:
    client = Client()
    client.cookies[consent.cookie_name()] = consent.cookie_value()
    return client
