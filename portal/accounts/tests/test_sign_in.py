"""Password sign-in: who gets in, who does not, and what each of them is told."""

from __future__ import annotations

from django.test import Client

from conftest import PASSWORD, finish_first_steps
from portal.accounts.models import User
from portal.accounts.views.signin import WRONG_CREDENTIALS


def test_patient_with_right_password_lands_on_home(client: Client, paula: User) -> None:
    """Paula, with no second factor and first steps done, goes straight home."""
    finish_first_steps(paula)
    response = client.post("/account/sign-in/", {"username": "paula", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert b"Welcome, Paula" in home.content


def test_wrong_password_and_unknown_user_get_the_same_answer(client: Client, paula: User) -> None:
    wrong = client.post("/account/sign-in/", {"username": "paula", "password": "not her password at all"})
    unknown = client.post("/account/sign-in/", {"username": "nobody", "password": "not her password at all"})
    assert wrong.status_code == unknown.status_code == 400
    assert WRONG_CREDENTIALS.encode() in wrong.content
    assert WRONG_CREDENTIALS.encode() in unknown.content
    # The username typed is kept on the page; the password is not echoed back.
    assert b'value="paula"' in wrong.content
    assert b"not her password at all" not in wrong.content
