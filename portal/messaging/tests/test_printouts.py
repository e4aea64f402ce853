"""Every printout and downloaded conversation names its patient twice and says when it was made.

Paula's Knee conversation, answered by Dr. Diaz: the text download (Paula's and her care
team's) and the thread page's print block carry her name, her date of birth and the date.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from conftest import finish_first_steps, sign_in
from portal.accounts.models import User
from portal.messaging.models import Thread
from portal.messaging.tests.helpers import patient_writes, staff_replies

pytestmark = pytest.mark.django_db

SignIn = Callable[[User], Client]


@pytest.fixture
def filed(world: dict[str, Any], paula: User, dr_diaz: User) -> Thread:
    thread = patient_writes(paula, world["blue"], subject="Knee pain").thread
    staff_replies(dr_diaz, thread.pk, body="Come in Monday")
    return thread


def test_the_downloaded_conversation_names_the_patient_and_when_it_was_made(
    filed: Thread, paula: User, dr_diaz: User, signed_in: SignIn
) -> None:
    """Two identifiers (name, date of birth) and the date, for Paula and for her care team."""
    text = signed_in(paula).get(f"/messages/threads/{filed.pk}/conversation.txt").content.decode()
    staff = Client()
    finish_first_steps(dr_diaz)
    sign_in(staff, dr_diaz)
    staff_text = staff.get(f"/staff/messages/threads/{filed.pk}/conversation.txt").content.decode()
    for copy in (text, staff_text):
        lines = copy.splitlines()
        assert lines[0] == "Patient: Paula Quill"
        assert lines[1] == "Date of birth: Apr 28, 1986"  # the portal's one format (portal.core.times)
        assert re.fullmatch(r"Made: \w+ \d{1,2}, \d{4}, \d{1,2}:\d{2} [AP]M \w+", lines[2]), lines[2]
        assert "Knee pain" in copy and "Come in Monday" in copy


def test_the_printed_conversation_names_the_patient_and_when_it_was_printed(
    filed: Thread, paula: User, signed_in: SignIn
) -> None:
    html = signed_in(paula).get(f"/messages/threads/{filed.pk}/").content.decode()
    printed = re.search(r'<p class="portal-print-only portal-printed-for">(.*?)</p>', html)
    assert printed is not None
    assert "Patient: <strong>Paula Quill</strong>" in printed.group(1)
    assert "Date of birth: Apr 28, 1986" in printed.group(1)  # one format, as on every page
    assert re.search(r"Printed \w+ \d{1,2}, \d{4}, \d{1,2}:\d{2} [AP]M \w+$", printed.group(1)), (
        printed.group(1)
    )
