"""The patient's messaging pages, as Paula uses them, and as Eve attacks them.

Paula is a patient of Team Blue (Dr. Diaz). Eve is a patient of Team Gold:
every URL with one of Paula's ids answers 404 to her, exactly as for an id
that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from portal.accounts.models import User
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.attachments import Upload
from portal.messaging.models import Draft, Message, Thread
from portal.messaging.tests.helpers import PDF, patient_writes, staff_replies

pytestmark = pytest.mark.django_db


@pytest.fixture
def paulas(world: dict[str, Any], paula: User, dr_diaz: User) -> dict[str, int]:
    message = patient_writes(
        paula, world["blue"], subject="Knee pain", body="My knee hurts", files=[Upload("x-ray.pdf", PDF)]
    )
    staff_replies(dr_diaz, message.thread.pk, body="Come in Monday")
    draft = actions.check_save_draft(
        by=Actor(paula),
        send_token=uuid.uuid4(),
        care_team_id=world["blue"].pk,
        thread_id=None,
        category="general",
        subject="half written",
        body="not done",
    )
    draft_file = actions.check_attach_files(
        by=Actor(paula), draft_id=draft.pk, uploads=[Upload("d.pdf", PDF)]
    )
    assert not draft_file
    folder = actions.check_create_folder(by=Actor(paula), name="Knee")
    return {
        "thread": message.thread.pk,
        "message": message.pk,
        "attachment": message.attachments.get().pk,
        "draft": draft.pk,
        "draft_attachment": draft.attachments.get().pk,
        "folder": folder.pk,
    }


def test_inbox_lists_threads_with_unread_in_bold_and_announced(
    paulas: dict[str, int], signed_in: Callable[[User], Client], paula: User
) -> None:
    """Paula's inbox shows the Knee pain thread, marked unread for screen readers too."""
    client = signed_in(paula)
    page = client.get("/messages/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Knee pain" in html and "portal-thread-row--unread" in html
    assert '<span class="usa-sr-only">Unread: </span>' in html
    assert '1<span class="usa-sr-only"> unread</span>' in html


def test_home_page_and_menu_show_messages(
    paulas: dict[str, int], signed_in: Callable[[User], Client], paula: User
) -> None:
    """The home page has a Messages card with the unread count; the top menu links to Messages."""
    html = signed_in(paula).get("/").content.decode()
    assert "You have 1 unread conversation." in html and "Knee pain" in html
    assert 'href="/messages/"><span>Messages</span>' in html


def test_opening_a_thread_marks_it_read_and_shows_the_reply_window(
    paulas: dict[str, int], signed_in: Callable[[User], Client], paula: User
) -> None:
    client = signed_in(paula)
    html = client.get(f"/messages/threads/{paulas['thread']}/").content.decode()
    assert "My knee hurts" in html and "Come in Monday" in html and "x-ray.pdf" in html
    assert "You can reply in this conversation until" in html
    assert Thread.objects.get(pk=paulas["thread"]).patient_unread == 0
    assert "answered" in html.lower()  # status of Paula's message


def test_closed_thread_says_so_before_typing_and_offers_a_new_message(
    paulas: dict[str, int], signed_in: Callable[[User], Client], paula: User
) -> None:
    """Past 45 days the page has no reply box: it explains, and links to a prefilled new message."""
    Thread.objects.filter(pk=paulas["thread"]).update(last_message_at=timezone.now() - timedelta(days=50))
    client = signed_in(paula)
    html = client.get(f"/messages/threads/{paulas['thread']}/").content.decode()
    assert "This conversation is closed for replies" in html
    assert 'name="body"' not in html
    assert f"/messages/new/?from={paulas['thread']}" in html
    compose = client.get(f"/messages/new/?from={paulas['thread']}").content.decode()
    assert 'value="Knee pain"' in compose


def test_a_thread_whose_team_left_the_portal_says_so_before_typing_and_refuses_a_reply(
    paulas: dict[str, int], signed_in: Callable[[User], Client], paula: User, settings: Any
) -> None:
    """Team Blue is switched off: no reply box, a clear reason and a way on; a forced reply is refused."""
    from portal.clinics.models import CareTeam

    settings.PORTAL_MESSAGE_REPLY_DAYS = 30
    thread = Thread.objects.get(pk=paulas["thread"])
    CareTeam.objects.filter(pk=thread.care_team_id).update(is_active=False)
    client = signed_in(paula)
    html = client.get(f"/messages/threads/{thread.pk}/").content.decode()
    assert "Team Blue no longer answers messages in the portal" in html
    assert 'name="body"' not in html and f"/messages/new/?from={thread.pk}" in html
    before = Message.objects.filter(thread=thread).count()
    response = client.post(
        f"/messages/threads/{thread.pk}/reply/",
        {"send_token": str(uuid.uuid4()), "body": "Still there?"},
        follow=True,
    )
    assert Message.objects.filter(thread=thread).count() == before
    html = response.content.decode()  # what she typed goes on, as a new message
    assert "your reply is now a new message" in html and "Still there?" in html
    assert 'value="Knee pain"' in html  # the conversation's subject
    CareTeam.objects.filter(pk=thread.care_team_id).update(is_active=True)
    open_again = client.get(f"/messages/threads/{thread.pk}/").content.decode()
    assert "(30 days after its last message)" in open_again  # the setting, not a fixed 45


def test_compose_shows_the_emergency_notice_and_only_her_teams(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    html = signed_in(paula).get("/messages/new/").content.decode()
    assert "call 911" in html and "988" in html and "3 business days" in html
    assert "Team Blue" in html and "Team Gold" not in html
    assert "usa-character-count" in html and 'maxlength="50"' in html
    assert "Can&#x27;t find your care team?" in html or "Can't find your care team?" in html


def compose_data(world: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = {
        "send_token": str(uuid.uuid4()),
        "care_team": world["blue"].pk,
        "category": "general",
        "subject": "Hello team",
        "body": "A question",
        "action": "send",
    }
    data.update(changes)
    return data


def test_send_from_the_page_and_double_submit_gives_one_message(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    """The same form posted twice sends one message; the second post lands on the same thread."""
    client = signed_in(paula)
    data = compose_data(world)
    first = client.post("/messages/new/", data)
    second = client.post("/messages/new/", data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Message.objects.count() == 1 and not Draft.objects.exists()


def test_forged_team_in_the_send_form_is_refused(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    """Team Gold's id posted by Paula: nothing sent, the page says to choose one of her teams, her text stays."""
    response = signed_in(paula).post(
        "/messages/new/", compose_data(world, care_team=world["gold"].pk, body="kept words")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose one of your care teams." in html and "kept words" in html
    assert not Message.objects.exists()
    assert Draft.objects.get().care_team is None


def test_missing_subject_keeps_what_was_typed(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    response = signed_in(paula).post(
        "/messages/new/", compose_data(world, subject="", body="my long message")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a subject." in html and "my long message" in html and 'role="alert"' in html


def test_xss_in_subject_body_and_folder_is_inert(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User, dr_diaz: User
) -> None:
    """Markup typed by a patient is shown as text on her pages and in the staff console."""
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    message = patient_writes(
        paula, world["blue"], subject=evil[:50], body=evil, files=[Upload(evil + ".pdf", PDF)]
    )
    client = signed_in(paula)
    for url in ("/messages/", f"/messages/threads/{message.thread.pk}/"):
        html = client.get(url).content.decode()
        assert "<script>alert(1)" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html
    client.logout()
    staff = signed_in(dr_diaz)
    for url in (
        f"/staff/messages/teams/{world['blue'].pk}/?view=all",
        f"/staff/messages/threads/{message.thread.pk}/",
    ):
        html = staff.get(url).content.decode()
        assert "<script>alert(1)" not in html and "<img src=x" not in html


def test_reply_from_the_thread_page(
    paulas: dict[str, int], signed_in: Callable[[User], Client], paula: User
) -> None:
    client = signed_in(paula)
    response = client.post(
        f"/messages/threads/{paulas['thread']}/reply/",
        {"send_token": str(uuid.uuid4()), "body": "Monday works"},
    )
    assert response.status_code == 302
    assert Message.objects.filter(thread_id=paulas["thread"]).count() == 3


def test_autosave_keeps_a_draft_that_reopens(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    """What the page autosaves is in Drafts, and opens again with every field as typed."""
    client = signed_in(paula)
    token = str(uuid.uuid4())
    saved = client.post(
        "/messages/drafts/autosave/",
        {
            "send_token": token,
            "care_team": world["blue"].pk,
            "category": "appointment",
            "subject": "Autosaved",
            "body": "typed so far",
        },
    )
    assert saved.status_code == 200 and "saved_at" in saved.json()
    drafts = client.get("/messages/drafts/").content.decode()
    assert "Autosaved" in drafts
    reopened = client.get(f"/messages/drafts/{saved.json()['draft']}/").content.decode()
    assert "typed so far" in reopened and 'value="Autosaved"' in reopened and token in reopened


def test_compose_page_loads_the_autosave_script_from_a_file(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    """Autosave is a static script (CSP allows no inline script)."""
    html = signed_in(paula).get("/messages/new/").content.decode()
    assert 'src="/static/messaging/js/messaging.js"' in html and "data-autosave-url" in html
    assert "<script>" not in html


def test_move_to_trash_and_restore_from_the_page(
    paulas: dict[str, int], signed_in: Callable[[User], Client], paula: User
) -> None:
    client = signed_in(paula)
    client.post(f"/messages/threads/{paulas['thread']}/move/", {"to": "trash"})
    assert "Knee pain" not in client.get("/messages/").content.decode()
    assert "Knee pain" in client.get("/messages/trash/").content.decode()
    client.post(f"/messages/threads/{paulas['thread']}/move/", {"to": str(paulas["folder"])})
    assert "Knee pain" in client.get(f"/messages/folders/{paulas['folder']}/").content.decode()
    client.post(f"/messages/threads/{paulas['thread']}/move/", {"to": "inbox"})
    assert "Knee pain" in client.get("/messages/").content.decode()


def test_folder_page_refuses_a_bad_name_clearly(
    paulas: dict[str, int], signed_in: Callable[[User], Client], paula: User
) -> None:
    response = signed_in(paula).post("/messages/folders/", {"name": "knee"})
    assert response.status_code == 400
    assert "You already have a folder with this name" in response.content.decode()


def test_keyset_pages_of_ten(world: dict[str, Any], signed_in: Callable[[User], Client], paula: User) -> None:
    """Twelve threads: ten on the first page, two behind "Older conversations"."""
    for number in range(12):
        patient_writes(paula, world["blue"], subject=f"Thread number {number:02d}")
    client = signed_in(paula)
    first = client.get("/messages/")
    html = first.content.decode()
    assert html.count('class="portal-thread-row') == 10 and "Thread number 11" in html
    older = html.split('href="?after=')[1].split('"')[0]
    second = client.get(f"/messages/?after={older}").content.decode()
    assert second.count('class="portal-thread-row') == 2 and "Thread number 00" in second


EVE_GETS_404 = [
    ("get", "/messages/threads/{thread}/"),
    ("post", "/messages/threads/{thread}/reply/"),
    ("post", "/messages/threads/{thread}/move/"),
    ("post", "/messages/threads/{thread}/unread/"),
    ("get", "/messages/threads/{thread}/conversation.txt"),
    ("get", "/messages/messages/{message}/"),
    ("get", "/messages/attachments/{attachment}/"),
    ("get", "/messages/attachments/{draft_attachment}/"),
    ("post", "/messages/attachments/{draft_attachment}/remove/"),
    ("get", "/messages/drafts/{draft}/"),
    ("post", "/messages/drafts/{draft}/discard/"),
    ("get", "/messages/folders/{folder}/"),
    ("post", "/messages/folders/{folder}/remove/"),
    ("get", "/messages/new/?from={thread}"),
    ("get", "/staff/messages/threads/{thread}/"),
]


@pytest.mark.parametrize(("method", "url"), EVE_GETS_404)
def test_eve_gets_404_on_every_url_with_paulas_ids(
    paulas: dict[str, int], signed_in: Callable[[User], Client], eve: User, method: str, url: str
) -> None:
    """Eve opening, replying to, moving, marking, downloading or deleting anything of Paula's: 404."""
    client = signed_in(eve)
    data = {"send_token": str(uuid.uuid4()), "body": "x", "to": "trash"}
    response = (
        getattr(client, method)(url.format(**paulas), data)
        if method == "post"
        else client.get(url.format(**paulas))
    )
    assert response.status_code == 404
    assert b"Knee" not in response.content


@pytest.mark.parametrize(("method", "url"), EVE_GETS_404)
def test_a_missing_id_gets_the_same_404(
    paulas: dict[str, int], signed_in: Callable[[User], Client], eve: User, method: str, url: str
) -> None:
    client = signed_in(eve)
    missing = {key: 987_654 for key in paulas}
    response = (
        getattr(client, method)(url.format(**missing), {})
        if method == "post"
        else client.get(url.format(**missing))
    )
    assert response.status_code == 404


def test_nothing_is_shown_signed_out(paulas: dict[str, int], client: Client) -> None:
    response = client.get(f"/messages/threads/{paulas['thread']}/")
    assert response.status_code == 302 and "/account/sign-in/" in response["Location"]


def test_compose_lists_the_team_written_to_last_first(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    """With two teams, the one Paula wrote to most recently comes first in To."""
    from portal.clinics.models import PatientCareTeam

    assert paula.patient_record is not None
    PatientCareTeam.objects.create(patient=paula.patient_record, care_team=world["im"])
    patient_writes(paula, world["im"])
    html = signed_in(paula).get("/messages/new/").content.decode()
    assert html.index("IM Team") < html.index("Team Blue")


def test_unread_counts_belong_to_the_box_the_conversation_is_in(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User, dr_diaz: User
) -> None:
    """An unread answer in her "Knee" folder is counted on Knee, not on the Inbox."""
    import re

    from portal.messaging.tests.helpers import patient_writes, staff_replies

    folder = actions.check_create_folder(by=Actor(paula), name="Knee")
    message = patient_writes(paula, world["blue"], subject="Knee")
    actions.check_move_thread(by=Actor(paula), thread_id=message.thread.pk, destination=str(folder.pk))
    staff_replies(dr_diaz, message.thread.pk)
    html = signed_in(paula).get("/messages/sent/").content.decode()
    badges = dict(
        re.findall(r">([A-Za-z]+) <span class=\"usa-tag\">(\d+)<span class=\"usa-sr-only\"> unread", html)
    )
    assert badges == {"Knee": "1"}


def test_a_reply_draft_of_a_closed_conversation_becomes_a_new_message_with_its_files(
    paulas: dict[str, int], signed_in: Callable[[User], Client], paula: User, world: dict[str, Any]
) -> None:
    """Paula left a reply with a file; 50 days on, the thread page offers it, and it opens as a new message."""
    from portal.messaging.tests.helpers import PDF

    by = Actor(paula)
    draft = actions.check_save_draft(
        by=by, send_token=uuid.uuid4(), care_team_id=None, thread_id=paulas["thread"],
        category="", subject="", body="The swelling is back",
    )  # fmt: skip
    actions.check_attach_files(by=by, draft_id=draft.pk, uploads=[Upload("photo-notes.pdf", PDF)])
    Thread.objects.filter(pk=paulas["thread"]).update(last_message_at=timezone.now() - timedelta(days=50))
    client = signed_in(paula)
    page = client.get(f"/messages/threads/{paulas['thread']}/").content.decode()
    assert "You have an unsent reply here" in page and f"/messages/drafts/{draft.pk}/" in page
    compose = client.get(f"/messages/drafts/{draft.pk}/").content.decode()
    assert "your reply is now a new message" in compose
    assert "The swelling is back" in compose and "photo-notes.pdf" in compose
    assert 'value="Knee pain"' in compose
    assert f'<option value="{world["blue"].pk}" selected' in compose
    moved = Draft.objects.get(pk=draft.pk)
    assert moved.thread_id is None and moved.care_team_id == world["blue"].pk
    sent = client.post(
        "/messages/new/",
        {"send_token": str(moved.send_token), "care_team": world["blue"].pk, "category": moved.category,
         "subject": "Knee pain", "body": "The swelling is back", "action": "send"},
    )  # fmt: skip
    assert sent.status_code == 302
    message = Message.objects.get(send_token=moved.send_token)
    assert message.thread_id != paulas["thread"] and message.attachments.count() == 1


def test_two_reply_drafts_of_one_conversation_each_open_from_the_drafts_list(
    paulas: dict[str, int], signed_in: Callable[[User], Client], paula: User
) -> None:
    """Two tabs made two drafts: the Drafts list opens each one, not only the newest."""
    by = Actor(paula)
    older, newer = (
        actions.check_save_draft(
            by=by, send_token=uuid.uuid4(), care_team_id=None, thread_id=paulas["thread"],
            category="", subject="", body=text,
        )
        for text in ("First tab words", "Second tab words")
    )  # fmt: skip
    client = signed_in(paula)
    for draft, text in ((older, "First tab words"), (newer, "Second tab words")):
        page = client.get(f"/messages/drafts/{draft.pk}/", follow=True).content.decode()
        assert text in page and f'value="{draft.send_token}"' in page


def test_send_on_an_empty_form_names_what_is_missing_and_leaves_no_empty_draft(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    response = signed_in(paula).post(
        "/messages/new/", {"send_token": str(uuid.uuid4()), "subject": " ", "body": "", "action": "send"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a subject." in html and "Enter your message." in html
    assert not Draft.objects.exists()
