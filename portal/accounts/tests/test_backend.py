"""The sign-in backend: a signed-in request reads its user and the person's record in one query.

Paula is a patient of Team Blue; Dr. Diaz is on Team Blue. Both sign in with a password.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, authenticate
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import PASSWORD
from portal.accounts.models import User

pytestmark = pytest.mark.django_db


def _reads_of(captured: CaptureQueriesContext, table: str) -> int:
    return sum(1 for q in captured.captured_queries if f'FROM "{table}"' in q["sql"])


def test_a_patients_page_reads_her_user_and_patient_record_in_one_query(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """The inbox uses her patient record: it comes joined to her user, not in a query of its own."""
    client = signed_in(paula)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/messages/").status_code == 200
    assert _reads_of(captured, "accounts_user") == 1
    assert _reads_of(captured, "clinics_patient") == 0
    (user_query,) = [q["sql"] for q in captured.captured_queries if 'FROM "accounts_user"' in q["sql"]]
    assert 'JOIN "clinics_patient"' in user_query


def test_a_staff_members_page_reads_the_staff_record_with_the_user(
    signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """The same for the care team: no separate query for the staff record."""
    client = signed_in(dr_diaz)
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/staff/messages/").status_code == 302  # to the work queue
    assert _reads_of(captured, "clinics_staffmember") == 0
    (user_query,) = [q["sql"] for q in captured.captured_queries if 'FROM "accounts_user"' in q["sql"]]
    assert 'JOIN "clinics_staffmember"' in user_query


def test_a_session_signed_in_before_the_backend_changed_stays_signed_in(
    signed_in: Callable[[User], Client], paula: User
) -> None:
    """A session that names Django's ModelBackend (signed in before) goes on: nobody is signed out by a deploy."""
    client = signed_in(paula)
    session = client.session
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session.save()
    page = client.get("/messages/")
    assert page.status_code == 200
    assert client.session[BACKEND_SESSION_KEY] == "django.contrib.auth.backends.ModelBackend"


@pytest.mark.parametrize("password", ["wrong password", PASSWORD])
def test_a_password_is_checked_once_whatever_the_answer(paula: User, password: str) -> None:
    """The legacy backend listed second never checks a password the first refused."""
    with mock.patch.object(User, "check_password", autospec=True, side_effect=User.check_password) as check:
        user: Any = authenticate(username=paula.username, password=password)
    assert check.call_count == 1
    assert (user is not None) == (password == PASSWORD)


def test_an_unknown_name_is_hashed_once(world: dict[str, Any]) -> None:
    """As Django does for an unknown user (against timing), once, not once per backend."""
    with mock.patch.object(User, "set_password", autospec=True, side_effect=User.set_password) as hashed:
        assert authenticate(username="nobody.here", password="whatever it is") is None
    assert hashed.call_count == 1
