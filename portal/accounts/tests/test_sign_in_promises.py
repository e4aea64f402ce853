"""The sign-in page promises only what the portal does: one line per installed area.

Messaging and the health record register their lines (portal.core.promises); an area that
is not installed (appointments, medications until they land) is not promised. A domain
that lands adds its line by registering it, with no edit of the template.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from portal.core import promises


@pytest.fixture
def registry() -> Iterator[None]:
    saved = dict(promises._promises)
    yield
    promises._promises.clear()
    promises._promises.update(saved)


def listed(client: Client) -> list[str]:
    page = client.get("/account/sign-in/").content.decode()
    block = page.split('class="usa-list portal-promises">', 1)[1].split("</ul>", 1)[0]
    return [item.split("</li>", 1)[0] for item in block.split("<li>")[1:]]


def test_sign_in_lists_what_is_installed_in_menu_order(client: Client, db: Any) -> None:
    lines = listed(client)
    assert lines[0].startswith("Send secure messages to your care team")
    assert lines[1].startswith("See your health record")
    page = client.get("/account/sign-in/").content.decode().lower()
    installed = {promise.text.lower() for promise in promises.promises()}
    for word in ("appointment", "prescription", "refill", "medication"):
        if not any(word in line for line in installed):
            assert word not in page, word


def test_a_domain_that_lands_adds_its_line(client: Client, db: Any, registry: None) -> None:
    promises.register_promise(order=40, text="See and book your appointments")
    promises.register_promise(order=40, text="See and book your appointments")  # ready() twice: one line
    lines = listed(client)
    assert lines.count("See and book your appointments") == 1
    assert lines.index("See and book your appointments") == 2
