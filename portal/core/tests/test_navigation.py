"""The primary navigation names every area the signed-in person may use, the same on every page.

Paula (a patient) has Home, Messages with her unread count, Health Record, Account security
and Need support?. Dr. Diaz (a physician) has the staff Home and Messages and no Health
Record of his own. Alex (an administrator, signed in with his second step) also has the
operator Console, which no one else is offered. Each app registers its own entry
(`portal.core.navigation`); the registry orders them and marks the page's own area.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory

from portal.accounts.models import User
from portal.core import navigation
from portal.core.navigation import NavEntry, once_per_request, primary_navigation
from portal.messaging.tests.helpers import patient_writes, staff_replies

pytestmark = pytest.mark.django_db

SignIn = Callable[[User], Client]
ENTRY = re.compile(
    r'<li class="usa-nav__primary-item"><a class="usa-nav-link( usa-current)?" href="([^"]+)"'
    r'(?: aria-current="page")?><span>([^<]+)</span>(?: <span class="usa-tag portal-nav-count">(\d+))?'
)


def menu(html: str) -> list[tuple[str, str, str]]:
    """(label, href, count) of each entry, in order."""
    return [(label, href, count) for _, href, label, count in ENTRY.findall(html)]


def current(html: str) -> list[str]:
    return [label for is_current, _, label, _ in ENTRY.findall(html) if is_current]


PAULA_PAGES = {
    "/": "Home",
    "/messages/": "Messages",
    "/messages/sent/": "Messages",
    "/record/": "Health Record",
    "/record/labs/": "Health Record",
    "/medications/": "Medications",
    "/account/security/": "Account security",
    "/help/": "Need support?",
}


def test_paulas_menu_is_the_same_on_every_page_with_her_unread_count(
    world: dict[str, Any], paula: User, dr_diaz: User, signed_in: SignIn
) -> None:
    thread = patient_writes(paula, world["blue"], subject="Knee pain").thread
    staff_replies(dr_diaz, thread.pk)
    client = signed_in(paula)
    expected = [
        ("Home", "/", ""),
        ("Messages", "/messages/", "1"),
        ("Health Record", "/record/", ""),
        ("Appointments", "/appointments/", ""),
        ("Medications", "/medications/", ""),
        ("Account security", "/account/security/", ""),
        ("Need support?", "/help/", ""),
    ]
    for path, area in PAULA_PAGES.items():
        html = client.get(path).content.decode()
        assert menu(html) == expected, path
        assert current(html) == [area], path
        assert 'aria-current="page"><span>' + area in html
    # The Menu button (a phone's way in) says something waits inside.
    home = client.get("/").content.decode()
    assert (
        'class="usa-menu-btn">Menu <span class="usa-tag portal-nav-count">1<span class="usa-sr-only"> new'
        in home
    )


def test_dr_diaz_has_the_staff_home_and_messages_and_no_console(dr_diaz: User, signed_in: SignIn) -> None:
    html = signed_in(dr_diaz).get("/staff/").content.decode()
    assert menu(html) == [
        ("Home", "/staff/", ""),
        ("Messages", "/staff/messages/", ""),
        ("Appointments", "/staff/appointments/", ""),
        ("Account security", "/account/security/", ""),
        ("Need support?", "/help/", ""),
    ]
    assert current(html) == ["Home"]


def test_the_console_is_in_the_menu_for_the_administrator_only(
    admin_adams: User, paula: User, signed_in: SignIn
) -> None:
    """Alex reaches the operator console from the menu; the entry opens it."""
    client = signed_in(admin_adams)
    html = client.get("/staff/").content.decode()
    assert ("Console", "/operator/", "") in menu(html)
    assert [label for label, _, _ in menu(html)] == [
        "Home",
        "Messages",
        "Console",
        "Account security",
        "Need support?",
    ]
    assert client.get("/operator/").status_code == 200
    client.post("/account/sign-out/")
    assert "Console" not in [label for label, _, _ in menu(signed_in(paula).get("/").content.decode())]


def test_an_administrator_not_allowed_into_the_console_is_not_offered_it(
    admin_adams: User, signed_in: SignIn
) -> None:
    """Console access switched off for Alex's account: no entry (the console would refuse him)."""
    User.objects.filter(pk=admin_adams.pk).update(is_staff=False)
    client = signed_in(admin_adams)
    assert "Console" not in [label for label, _, _ in menu(client.get("/staff/").content.decode())]
    assert client.get("/operator/").status_code in {302, 403}


def test_signed_out_pages_have_no_menu(client: Client) -> None:
    assert menu(client.get("/account/sign-in/").content.decode()) == []


# The registry itself, with providers of its own (the apps' are set aside).


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    registered: list[Any] = []
    monkeypatch.setattr(navigation, "_providers", registered)
    return registered


def request_for(path: str, user: Any) -> Any:
    request = RequestFactory().get(path)
    request.user = user
    return request


def test_entries_come_in_order_and_the_longest_matching_area_is_current(
    providers: list[Any], paula: User
) -> None:
    navigation.register_nav_entry(
        lambda r: NavEntry("Messages", "/messages/", order=20, paths=("/messages/",))
    )
    navigation.register_nav_entry(lambda r: NavEntry("Home", "/", order=0))
    navigation.register_nav_entry(lambda r: None)  # an area this person does not use
    links = primary_navigation(request_for("/messages/threads/4/", paula))
    assert [(link.entry.label, link.current) for link in links] == [("Home", False), ("Messages", True)]
    assert [link.current for link in primary_navigation(request_for("/", paula))] == [True, False]
    assert [link.current for link in primary_navigation(request_for("/elsewhere/", paula))] == [False, False]


def test_registering_the_same_provider_twice_adds_it_once(providers: list[Any]) -> None:
    def entry(request: Any) -> NavEntry:
        return NavEntry("Home", "/", order=0)

    navigation.register_nav_entry(entry)
    navigation.register_nav_entry(entry)
    assert providers == [entry]


def test_no_one_signed_in_gets_no_entries_and_no_provider_is_asked(providers: list[Any]) -> None:
    asked: list[Any] = []
    navigation.register_nav_entry(asked.append)
    assert primary_navigation(request_for("/", AnonymousUser())) == []
    assert asked == []


def test_a_count_is_computed_once_per_request(paula: User) -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return 3

    request = request_for("/", paula)
    assert once_per_request(request, "k", compute) == 3
    assert once_per_request(request, "k", compute) == 3
    assert len(calls) == 1
    assert once_per_request(request_for("/", paula), "k", compute) == 3
    assert len(calls) == 2
