"""Team Blue's quick texts: Dr. Diaz keeps them (add, edit, delete: audited) and puts one into a reply.

Nurse Nolan (Team Gold) reaches none of them; Paula and Alex (administrator) neither.
Without script, a quick text's Use button saves the reply typed so far with the
quick text at its end, the patient's first name filled in, and the page comes back
with it; the draft keeps its files and signature choice.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import make_staff
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.models import Draft, QuickText, Thread
from portal.messaging.tests.helpers import PDF, patient_writes

pytestmark = pytest.mark.django_db

HELLO = "Hello {first_name}, your results are normal. No action is needed."


@pytest.fixture
def quick_text(world: dict[str, Any], dr_diaz: User) -> QuickText:
    return actions.check_add_quick_text(
        by=Actor(dr_diaz), team_id=world["blue"].pk, title="Results normal", text=HELLO
    )


@pytest.fixture
def thread(world: dict[str, Any], paula: User) -> Thread:
    return patient_writes(paula, world["blue"], subject="My results", body="Are they fine?").thread


def _textarea(html: str, name: str = "body") -> str:
    found = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert found is not None
    return unescape(found.group(1)).lstrip("\n")


def test_dr_diaz_adds_edits_and_deletes_a_quick_text_each_audited(
    world: dict[str, Any], signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    client = signed_in(dr_diaz)
    page = f"/staff/messages/teams/{world['blue'].pk}/quick-texts/"
    assert "Your team has no quick texts yet." in client.get(page).content.decode()
    added = client.post(page, {"title": "Results normal", "text": HELLO}, follow=True).content.decode()
    assert "Quick text added." in added and "Results normal" in added
    quick_text = QuickText.objects.get()
    assert quick_text.text == HELLO and quick_text.care_team == world["blue"]  # kept as written, unfilled

    edit = f"/staff/messages/quick-texts/{quick_text.pk}/edit/"
    assert _textarea(client.get(edit).content.decode(), "text") == HELLO
    client.post(edit, {"title": "Results all normal", "text": "Hi {first_name}."})
    quick_text.refresh_from_db()
    assert (quick_text.title, quick_text.text) == ("Results all normal", "Hi {first_name}.")

    delete = f"/staff/messages/quick-texts/{quick_text.pk}/delete/"
    asked = client.post(delete)
    assert (
        asked.status_code == 200
        and "Delete the quick text &ldquo;Results all normal&rdquo;?" in asked.content.decode()
    )
    assert QuickText.objects.count() == 1  # not before it is confirmed
    done = client.post(delete, {"confirmed": "yes"}, follow=True).content.decode()
    assert "Quick text deleted." in done and QuickText.objects.count() == 0

    events = AuditEvent.objects.filter(action__startswith="messaging.quick_text.").order_by("id")
    assert [e.action for e in events] == [
        "messaging.quick_text.added",
        "messaging.quick_text.changed",
        "messaging.quick_text.deleted",
    ]
    assert all(e.actor_id == dr_diaz.pk and e.object_id == str(quick_text.pk) for e in events)
    assert all(e.details == {"team": world["blue"].pk} for e in events)  # ids only, never the words


@pytest.mark.parametrize(
    ("title", "text", "problem"),
    [
        ("", HELLO, "Enter a title, so your team can tell the quick texts apart."),
        ("x" * 81, HELLO, "Shorten the title to 80 characters or fewer."),
        ("Refill", "", "Enter the text to put into replies."),
        ("Refill", "y" * 2001, "Shorten the text to 2,000 characters or fewer."),
        (
            "Refill",
            "Dear {last_name}, see {date}",
            "Only {first_name} is filled in. Remove {date}, {last_name} or write it out.",
        ),
        (
            "results NORMAL",
            HELLO,
            "Your team already has a quick text with this title. Choose another title.",
        ),
    ],
)
def test_a_refused_quick_text_says_what_to_fix_and_keeps_what_was_typed(  # noqa: PLR0917 - pytest fixtures
    title: str,
    text: str,
    problem: str,
    world: dict[str, Any],
    quick_text: QuickText,
    signed_in: Callable[[User], Client],
    dr_diaz: User,
) -> None:
    response = signed_in(dr_diaz).post(
        f"/staff/messages/teams/{world['blue'].pk}/quick-texts/", {"title": title, "text": text}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert unescape(problem) in unescape(html)
    assert _textarea(html, "text") == text.strip() or len(text) > 2000
    assert QuickText.objects.count() == 1


def test_another_teams_staff_and_other_people_reach_no_quick_text(
    world: dict[str, Any],
    quick_text: QuickText,
    thread: Thread,
    signed_in: Callable[[User], Client],
    nurse_nolan: User,
) -> None:
    """Nurse Nolan gets the same 404 as for a missing id on every quick text address, and changes nothing."""
    client = signed_in(nurse_nolan)
    for target in (quick_text.pk, 999_999):
        assert client.get(f"/staff/messages/quick-texts/{target}/edit/").status_code == 404
        assert (
            client.post(
                f"/staff/messages/quick-texts/{target}/edit/", {"title": "Mine", "text": "x"}
            ).status_code
            == 404
        )
        assert (
            client.post(f"/staff/messages/quick-texts/{target}/delete/", {"confirmed": "yes"}).status_code
            == 404
        )
    assert client.get(f"/staff/messages/teams/{world['blue'].pk}/quick-texts/").status_code == 404
    assert (
        client.post(
            f"/staff/messages/teams/{world['blue'].pk}/quick-texts/", {"title": "T", "text": "x"}
        ).status_code
        == 404
    )
    use = {"send_token": str(uuid.uuid4()), "body": "", "quick_text": quick_text.pk}
    assert client.post(f"/staff/messages/threads/{thread.pk}/quick-text/", use).status_code == 404
    quick_text.refresh_from_db()
    assert (quick_text.title, QuickText.objects.count(), Draft.objects.count()) == ("Results normal", 1, 0)
    refused = AuditEvent.objects.filter(action="access.denied", object_type="quick_text").count()
    assert refused == 6


@pytest.mark.parametrize("who", ["paula", "admin_adams"])
def test_patients_and_administrators_reach_no_quick_text(
    who: str, world: dict[str, Any], quick_text: QuickText, signed_in: Callable[[User], Client], request: Any
) -> None:
    client = signed_in(request.getfixturevalue(who))
    assert client.get(f"/staff/messages/teams/{world['blue'].pk}/quick-texts/").status_code == 404
    assert client.get(f"/staff/messages/quick-texts/{quick_text.pk}/edit/").status_code == 404
    assert (
        client.post(f"/staff/messages/quick-texts/{quick_text.pk}/delete/", {"confirmed": "yes"}).status_code
        == 404
    )
    assert QuickText.objects.count() == 1


def test_the_reply_offers_the_teams_quick_texts_with_the_first_name_filled_in(
    quick_text: QuickText, thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    html = signed_in(dr_diaz).get(f"/staff/messages/threads/{thread.pk}/").content.decode()
    assert "Quick texts of Team Blue (1)" in html
    assert 'data-quick-text="Hello Paula, your results are normal. No action is needed."' in html
    assert f'formaction="/staff/messages/threads/{thread.pk}/quick-text/"' in html
    assert "{first_name}" not in html


def test_use_without_script_puts_the_text_after_the_reply_and_keeps_the_draft(
    quick_text: QuickText, thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """The reply typed so far, its signature box and its file stay; the quick text comes after the words."""
    client = signed_in(dr_diaz)
    client.post("/staff/messages/signature/", {"signature": "Dr. Dana Diaz"})
    token = str(uuid.uuid4())
    response = client.post(
        f"/staff/messages/threads/{thread.pk}/quick-text/",
        {
            "send_token": token,
            "body": "Thank you for writing.  \n",
            "sign": "on",
            "quick_text": quick_text.pk,
            "attachments": [SimpleUploadedFile("results.pdf", PDF)],
        },
    )
    assert (
        response.status_code == 302 and response["Location"] == f"/staff/messages/threads/{thread.pk}/#reply"
    )
    html = client.get(response["Location"]).content.decode()
    expected = "Thank you for writing.\n\nHello Paula, your results are normal. No action is needed."
    assert _textarea(html) == expected
    assert "The quick text is at the end of your reply" in html
    assert 'name="sign" checked' in html
    assert "results.pdf" in html
    draft = Draft.objects.get()
    assert str(draft.send_token) == token and draft.add_signature
    assert b"Hello Paula" not in bytes(draft.body)  # sealed like every draft
    # Edited and sent as usual: the patient gets the words as edited.
    client.post(
        f"/staff/messages/threads/{thread.pk}/reply/", {"send_token": token, "body": expected + " Edited."}
    )
    assert thread.messages.filter(author_kind="staff").count() == 1 and Draft.objects.count() == 0


def test_use_on_an_empty_reply_gives_just_the_quick_text(
    quick_text: QuickText, thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    client = signed_in(dr_diaz)
    use = {"send_token": str(uuid.uuid4()), "body": "", "quick_text": quick_text.pk}
    html = client.post(f"/staff/messages/threads/{thread.pk}/quick-text/", use, follow=True).content.decode()
    assert _textarea(html) == "Hello Paula, your results are normal. No action is needed."


def test_a_quick_text_that_would_make_the_reply_too_long_is_refused_and_the_reply_kept(
    quick_text: QuickText, thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    typed = "w" * 9_990
    use = {"send_token": str(uuid.uuid4()), "body": typed, "quick_text": quick_text.pk}
    response = signed_in(dr_diaz).post(f"/staff/messages/threads/{thread.pk}/quick-text/", use)
    assert response.status_code == 400
    html = response.content.decode()
    assert "10,000 characters or fewer" in html and _textarea(html) == typed
    assert Draft.objects.count() == 0


def test_a_quick_text_of_another_of_my_teams_is_not_offered_nor_taken(
    world: dict[str, Any], paula: User, eve: User, signed_in: Callable[[User], Client]
) -> None:
    """Mo is on Team Blue and Team Gold: Team Gold's quick text does not go into a Team Blue reply."""
    mo = make_staff(
        username="ma.moss", first="Mo", last="Moss", role="clerk", teams=[world["blue"], world["gold"]]
    )
    gold = actions.check_add_quick_text(
        by=Actor(mo), team_id=world["gold"].pk, title="Gold only", text="Gold words"
    )
    blue_thread = patient_writes(paula, world["blue"]).thread
    client = signed_in(mo)
    assert "Gold words" not in client.get(f"/staff/messages/threads/{blue_thread.pk}/").content.decode()
    use = {"send_token": str(uuid.uuid4()), "body": "", "quick_text": gold.pk}
    assert client.post(f"/staff/messages/threads/{blue_thread.pk}/quick-text/", use).status_code == 404
    assert Draft.objects.count() == 0


def test_a_member_removed_from_the_team_loses_its_quick_texts(
    world: dict[str, Any], quick_text: QuickText, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    from portal.clinics.models import TeamMembership

    client = signed_in(dr_diaz)
    assert client.get(f"/staff/messages/quick-texts/{quick_text.pk}/edit/").status_code == 200
    TeamMembership.objects.filter(staff_member__user=dr_diaz).delete()
    assert client.get(f"/staff/messages/quick-texts/{quick_text.pk}/edit/").status_code == 404
