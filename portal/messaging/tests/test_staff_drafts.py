"""A care team reply is a draft until it is sent: saved as typed, restored, private, consumed by Send.

Paula wrote to Team Blue. Dr. Diaz (Team Blue) answers; his unsent reply is
his alone. Nurse Baker works the same Team Blue pool and never sees it; Nurse
Nolan (Team Gold) sees nothing of the thread; Paula never sees a staff draft,
and Dr. Diaz never sees hers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.clinics.models import TeamMembership
from portal.core.acting import Actor, Refused
from portal.messaging import actions
from portal.messaging.attachments import Upload
from portal.messaging.models import Attachment, Draft, Message, Thread
from portal.messaging.selectors import draft_view, reply_draft, thread_view
from portal.messaging.tests.helpers import PDF, PNG_1x1, patient_writes, staff_drafts
from portal.vault.reading import UNREADABLE

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(world: dict[str, Any], paula: User) -> Thread:
    return patient_writes(paula, world["blue"], subject="Rash", body="A rash on my arm").thread


def thread_url(thread: Thread, tail: str = "") -> str:
    return f"/staff/messages/threads/{thread.pk}/{tail}"


def autosave(client: Client, thread: Thread, token: str, body: str, **extra: Any) -> Any:
    return client.post(thread_url(thread, "draft/"), {"send_token": token, "body": body, **extra})


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


# Saving and restoring -----------------------------------------------------------------------------


def test_autosave_keeps_the_reply_and_the_thread_page_restores_it(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """What the reply box autosaves comes back in the box, with the same form token, when he returns."""
    client = signed_in(dr_diaz)
    token = str(uuid.uuid4())
    saved = autosave(client, thread, token, "Use the cream twice a day")
    assert saved.status_code == 200 and "saved_at" in saved.json()
    html = client.get(thread_url(thread)).content.decode()
    assert "Use the cream twice a day" in html and token in html
    assert "Your draft from" in html and "is restored." in html
    assert 'data-autosave-url="/staff/messages/threads/' in html


def test_a_second_autosave_updates_the_same_draft(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    client = signed_in(dr_diaz)
    token = str(uuid.uuid4())
    autosave(client, thread, token, "first words")
    autosave(client, thread, token, "first words and more")
    draft = Draft.objects.get()
    assert draft_view(dr_diaz, draft).body == "first words and more"
    events = AuditEvent.objects.filter(action="messaging.draft.saved", actor_id=dr_diaz.pk).order_by("pk")
    assert [e.details["new"] for e in events] == [True, False]


def test_the_draft_survives_the_session_ending(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """The session times out (here: it ends); signed in again, the thread page has the reply as it was."""
    client = signed_in(dr_diaz)
    autosave(client, thread, str(uuid.uuid4()), "Typed before the timeout")
    client.logout()
    assert client.get(thread_url(thread)).status_code == 302  # signed out: sent to sign in
    TOTPDevice.objects.filter(user=dr_diaz).update(last_t=-1)  # his authenticator shows a fresh code
    client = signed_in(dr_diaz)
    assert "Typed before the timeout" in client.get(thread_url(thread)).content.decode()


def test_the_signature_choice_is_kept_with_the_draft(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """With a saved signature the box starts ticked; the draft remembers it unticked, or ticked."""
    client = signed_in(dr_diaz)
    client.post("/staff/messages/signature/", {"signature": "Dr. Dana Diaz, Team Blue"})
    assert 'name="sign" checked' in client.get(thread_url(thread)).content.decode()
    token = str(uuid.uuid4())
    autosave(client, thread, token, "no signature on this one")
    assert 'name="sign" checked' not in client.get(thread_url(thread)).content.decode()
    autosave(client, thread, token, "signed after all", sign="on")
    assert 'name="sign" checked' in client.get(thread_url(thread)).content.decode()


def test_the_draft_is_sealed_under_the_patients_key_and_bound_to_its_row(
    thread: Thread, dr_diaz: User, paula: User
) -> None:
    """The body in the database is ciphertext; moved to another draft's row it does not decrypt."""
    mine = staff_drafts(dr_diaz, thread.pk, body="Ketoconazole cream for the arm")
    other = staff_drafts(dr_diaz, thread.pk, body="other")
    raw = bytes(Draft.objects.values_list("body", flat=True).get(pk=mine.pk))
    assert b"Ketoconazole" not in raw
    Draft.objects.filter(pk=other.pk).update(body=raw)
    assert draft_view(dr_diaz, Draft.objects.get(pk=other.pk)).body == UNREADABLE
    assert draft_view(dr_diaz, Draft.objects.get(pk=mine.pk)).body == "Ketoconazole cream for the arm"


def test_draft_audit_events_hold_ids_only(thread: Thread, dr_diaz: User) -> None:
    draft = staff_drafts(dr_diaz, thread.pk, body="Secret words", files=[Upload("lab-plan.pdf", PDF)])
    events = AuditEvent.objects.filter(
        action__in=["messaging.draft.saved", "messaging.attachment.added"], actor_id=dr_diaz.pk
    )
    assert {e.action for e in events} == {"messaging.draft.saved", "messaging.attachment.added"}
    for event in events:
        assert event.actor_id == dr_diaz.pk and event.patient_id == thread.patient_id
        assert "Secret" not in str(event.details) and "lab-plan" not in str(event.details)
    assert events.get(action="messaging.attachment.added").details == {"draft": draft.pk}


# Sending ------------------------------------------------------------------------------------------


def test_send_consumes_the_draft_and_takes_its_files(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User, paula: User
) -> None:
    """A file attached on an earlier try, then Send: one message with the file; no draft is left."""
    draft = staff_drafts(dr_diaz, thread.pk, body="See the leaflet", files=[Upload("leaflet.pdf", PDF)])
    client = signed_in(dr_diaz)
    response = client.post(
        thread_url(thread, "reply/"), {"send_token": str(draft.send_token), "body": "See the leaflet"}
    )
    assert response.status_code == 302
    message = thread.messages.get(author_kind="staff")
    assert [a.size for a in message.attachments.all()] == [len(PDF)]
    assert not Draft.objects.filter(author=dr_diaz).exists()
    event = AuditEvent.objects.filter(action="messaging.message.sent").last()
    assert event is not None and event.details == {"thread": thread.pk, "attachments": 1}
    assert "See the leaflet" in thread_view(paula, Thread.objects.get(pk=thread.pk)).entries[-1].text


def test_double_submit_sends_once_and_no_draft_comes_back(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """Send pressed twice, then a late autosave of the same form: one message, no draft."""
    client = signed_in(dr_diaz)
    data = {"send_token": str(uuid.uuid4()), "body": "Once only"}
    first = client.post(thread_url(thread, "reply/"), data)
    second = client.post(thread_url(thread, "reply/"), data)
    assert first.status_code == second.status_code == 302
    late = autosave(client, thread, data["send_token"], "Once only")
    assert late.json() == {"sent": True}
    assert thread.messages.filter(author_kind="staff").count() == 1
    assert not Draft.objects.exists()


def test_sending_the_same_draft_again_returns_the_first_message(thread: Thread, dr_diaz: User) -> None:
    draft = staff_drafts(dr_diaz, thread.pk, body="Answer")
    first = actions.check_send_staff_draft(by=Actor(dr_diaz), draft_id=draft.pk)
    again = actions.check_staff_reply(
        by=Actor(dr_diaz), thread_id=thread.pk, body="Answer", send_token=draft.send_token
    )
    assert first == again and thread.messages.filter(author_kind="staff").count() == 1


def test_a_refused_send_keeps_the_draft_and_what_was_typed(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """An empty reply with a file: refused in words, the file stays on the draft, nothing is sent."""
    client = signed_in(dr_diaz)
    response = client.post(
        thread_url(thread, "reply/"),
        {"send_token": str(uuid.uuid4()), "body": "   ", "attachments": [upload("leaflet.pdf", PDF)]},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter your reply." in html and "leaflet.pdf" in html
    assert Draft.objects.get().attachments.count() == 1
    assert not thread.messages.filter(author_kind="staff").exists()


def test_a_failed_send_loses_nothing(
    thread: Thread, dr_diaz: User, isolated_vault: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The send fails inside its transaction (the notice cannot be queued): no message, and the
    draft, its text and its file are all still there to send again."""
    from portal.messaging import notifications

    draft = staff_drafts(dr_diaz, thread.pk, body="Important answer", files=[Upload("plan.pdf", PDF)])

    def broken(message: Message) -> None:
        raise RuntimeError("the mail queue is down")

    monkeypatch.setattr(notifications, "notify_new_message", broken)
    with pytest.raises(RuntimeError):
        actions.check_send_staff_draft(by=Actor(dr_diaz), draft_id=draft.pk)
    assert not thread.messages.filter(author_kind="staff").exists()
    kept = Draft.objects.get(pk=draft.pk)
    assert draft_view(dr_diaz, kept).body == "Important answer"
    assert kept.attachments.count() == 1
    assert len([p for p in (isolated_vault / "vault-files").rglob("*") if p.is_file()]) == 1
    monkeypatch.undo()
    sent = actions.check_send_staff_draft(by=Actor(dr_diaz), draft_id=draft.pk)
    assert sent.attachments.count() == 1


def test_the_saved_signature_is_added_from_the_draft(thread: Thread, dr_diaz: User) -> None:
    actions.check_save_signature(by=Actor(dr_diaz), text="Dr. Dana Diaz, Team Blue")
    signed = staff_drafts(dr_diaz, thread.pk, body="Signed", sign=True)
    plain = staff_drafts(dr_diaz, thread.pk, body="Plain")
    actions.check_send_staff_draft(by=Actor(dr_diaz), draft_id=signed.pk)
    actions.check_send_staff_draft(by=Actor(dr_diaz), draft_id=plain.pk)
    texts = [e.text for e in thread_view(dr_diaz, Thread.objects.get(pk=thread.pk)).entries][1:]
    assert texts == ["Signed\n\nDr. Dana Diaz, Team Blue", "Plain"]


def test_a_signature_that_makes_the_reply_too_long_says_so(thread: Thread, dr_diaz: User) -> None:
    actions.check_save_signature(by=Actor(dr_diaz), text="Dr. Dana Diaz")
    draft = staff_drafts(dr_diaz, thread.pk, body="x" * 9_995, sign=True)
    with pytest.raises(Refused, match="With your signature the reply is over 10,000 characters"):
        actions.check_send_staff_draft(by=Actor(dr_diaz), draft_id=draft.pk)
    assert Draft.objects.filter(pk=draft.pk).exists()


# A refused file keeps the accepted ones -------------------------------------------------------------


def test_one_bad_file_keeps_the_good_ones_on_the_draft(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """A reply with a PDF, a picture and a program: the program is named with its reason, the
    text is kept, the PDF and picture are listed with Remove buttons; sending again sends both."""
    client = signed_in(dr_diaz)
    token = str(uuid.uuid4())
    response = client.post(
        thread_url(thread, "reply/"),
        {
            "send_token": token,
            "body": "Two files for you",
            "attachments": [
                upload("leaflet.pdf", PDF),
                upload("tool.exe", b"MZ\x90\x00program"),
                upload("diagram.png", PNG_1x1),
            ],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "<strong>tool.exe</strong>: this kind of file cannot be sent" in html
    assert "Two files for you" in html and "Attached to this draft" in html
    assert "Draft saved at" in html and "is restored" not in html
    assert "leaflet.pdf" in html and "diagram.png" in html
    files = Attachment.objects.filter(draft__send_token=token).order_by("pk")
    assert files.count() == 2
    for attachment in files:
        assert f'action="/staff/messages/attachments/{attachment.pk}/remove/"' in html
        assert f'form="remove-{attachment.pk}"' in html
    assert not thread.messages.filter(author_kind="staff").exists()
    sent = client.post(thread_url(thread, "reply/"), {"send_token": token, "body": "Two files for you"})
    assert sent.status_code == 302
    assert thread.messages.get(author_kind="staff").attachments.count() == 2


def test_remove_a_file_from_the_draft(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    draft = staff_drafts(dr_diaz, thread.pk, files=[Upload("a.pdf", PDF), Upload("b.png", PNG_1x1)])
    first = draft.attachments.order_by("pk").first()
    assert first is not None
    response = signed_in(dr_diaz).post(f"/staff/messages/attachments/{first.pk}/remove/")
    assert response.status_code == 302 and response["Location"] == thread_url(thread) + "#reply"
    assert list(draft.attachments.values_list("size", flat=True)) == [len(PNG_1x1)]


def test_delete_the_draft(thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User) -> None:
    draft = staff_drafts(dr_diaz, thread.pk, body="never mind", files=[Upload("a.pdf", PDF)])
    client = signed_in(dr_diaz)
    assert "data-discards-draft" in client.get(thread_url(thread)).content.decode()
    response = client.post(f"/staff/messages/drafts/{draft.pk}/discard/")
    assert response.status_code == 302
    assert not Draft.objects.exists() and not Attachment.objects.exists()
    assert "never mind" not in client.get(thread_url(thread)).content.decode()


def test_a_sent_file_cannot_be_removed_through_the_draft_door(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    draft = staff_drafts(dr_diaz, thread.pk, files=[Upload("a.pdf", PDF)])
    message = actions.check_send_staff_draft(by=Actor(dr_diaz), draft_id=draft.pk)
    attachment = message.attachments.get()
    client = signed_in(dr_diaz)
    response = client.post(f"/staff/messages/attachments/{attachment.pk}/remove/", follow=True)
    assert "A file that was sent stays with its message." in response.content.decode()
    assert Attachment.objects.filter(pk=attachment.pk, message=message).exists()


# Attacks: every draft URL with someone else's ids ------------------------------------------------


@pytest.fixture
def drafts(thread: Thread, paula: User, dr_diaz: User) -> dict[str, Any]:
    """Dr. Diaz's draft with a file, and Paula's own reply draft with a file, in the same thread."""
    diaz = staff_drafts(dr_diaz, thread.pk, body="Diaz private words", files=[Upload("diaz.pdf", PDF)])
    by = Actor(paula)
    hers = actions.check_save_draft(
        by=by,
        send_token=uuid.uuid4(),
        care_team_id=None,
        thread_id=thread.pk,
        category="",
        subject="",
        body="Paula private words",
    )
    actions.check_attach_files(by=by, draft_id=hers.pk, uploads=[Upload("paula.png", PNG_1x1)])
    return {
        "thread": thread.pk,
        "draft": diaz.pk,
        "token": str(diaz.send_token),
        "attachment": diaz.attachments.get().pk,
        "paulas_draft": hers.pk,
        "paulas_token": str(hers.send_token),
        "paulas_attachment": hers.attachments.get().pk,
    }


DIAZ_DRAFT_URLS = [
    ("post", "/staff/messages/threads/{thread}/draft/", {"send_token": "{token}", "body": "overwritten"}),
    ("post", "/staff/messages/threads/{thread}/reply/", {"send_token": "{token}", "body": "sent by another"}),
    ("post", "/staff/messages/drafts/{draft}/discard/", {}),
    ("post", "/staff/messages/attachments/{attachment}/remove/", {}),
    ("get", "/messages/attachments/{attachment}/", {}),
    ("get", "/messages/drafts/{draft}/", {}),
    ("post", "/messages/drafts/{draft}/discard/", {}),
    ("post", "/messages/attachments/{attachment}/remove/", {}),
    (
        "post",
        "/messages/drafts/autosave/",
        {"send_token": "{token}", "thread": "{thread}", "body": "overwritten"},
    ),
    ("post", "/messages/threads/{thread}/reply/", {"send_token": "{token}", "body": "sent by another"}),
]


def _request(client: Client, method: str, url: str, data: dict[str, str], ids: dict[str, Any]) -> Any:
    target = url.format(**ids)
    if method == "get":
        return client.get(target)
    return client.post(target, {key: value.format(**ids) for key, value in data.items()})


def _diaz_draft_untouched(ids: dict[str, Any], dr_diaz: User) -> None:
    draft = Draft.objects.get(pk=ids["draft"])
    assert draft_view(dr_diaz, draft).body == "Diaz private words"
    assert draft.attachments.get().pk == ids["attachment"]
    assert not Message.objects.filter(author_kind="staff").exists()


@pytest.mark.parametrize("who", ["nurse_baker", "nurse_nolan", "paula", "eve"])
@pytest.mark.parametrize(("method", "url", "data"), DIAZ_DRAFT_URLS)
def test_nobody_else_reaches_dr_diaz_draft_on_any_url(  # noqa: PLR0917 - pytest fixtures and parameters
    drafts: dict[str, Any],
    signed_in: Callable[[User], Client],
    dr_diaz: User,
    request: Any,
    who: str,
    method: str,
    url: str,
    data: dict[str, str],
) -> None:
    """A colleague on his team, another team's nurse, the thread's patient and another patient:
    404 on every URL that names his draft, its token or its file, and the draft is unchanged."""
    client = signed_in(request.getfixturevalue(who))
    response = _request(client, method, url, data, drafts)
    assert response.status_code == 404
    assert b"Diaz private" not in response.content
    _diaz_draft_untouched(drafts, dr_diaz)


@pytest.mark.parametrize(("method", "url", "data"), DIAZ_DRAFT_URLS)
def test_removed_from_the_team_he_reaches_his_draft_on_no_url(  # noqa: PLR0917 - pytest fixtures
    drafts: dict[str, Any],
    signed_in: Callable[[User], Client],
    dr_diaz: User,
    method: str,
    url: str,
    data: dict[str, str],
) -> None:
    client = signed_in(dr_diaz)
    TeamMembership.objects.filter(staff_member__user=dr_diaz).delete()
    response = _request(client, method, url, data, drafts)
    assert response.status_code == 404
    _diaz_draft_untouched(drafts, dr_diaz)


PAULAS_DRAFT_URLS = [
    (
        "post",
        "/staff/messages/threads/{thread}/draft/",
        {"send_token": "{paulas_token}", "body": "overwritten"},
    ),
    ("post", "/staff/messages/threads/{thread}/reply/", {"send_token": "{paulas_token}", "body": "hijacked"}),
    ("post", "/staff/messages/drafts/{paulas_draft}/discard/", {}),
    ("post", "/staff/messages/attachments/{paulas_attachment}/remove/", {}),
    ("get", "/messages/attachments/{paulas_attachment}/", {}),
    ("get", "/messages/drafts/{paulas_draft}/", {}),
    ("post", "/messages/drafts/{paulas_draft}/discard/", {}),
]


@pytest.mark.parametrize("who", ["dr_diaz", "nurse_baker"])
@pytest.mark.parametrize(("method", "url", "data"), PAULAS_DRAFT_URLS)
def test_staff_never_reach_the_patients_draft(  # noqa: PLR0917 - pytest fixtures and parameters
    drafts: dict[str, Any],
    signed_in: Callable[[User], Client],
    paula: User,
    request: Any,
    who: str,
    method: str,
    url: str,
    data: dict[str, str],
) -> None:
    """Paula's unsent reply, in the very thread her team works: 404 to them on every URL."""
    response = _request(signed_in(request.getfixturevalue(who)), method, url, data, drafts)
    assert response.status_code == 404
    assert b"Paula private" not in response.content
    hers = Draft.objects.get(pk=drafts["paulas_draft"])
    assert draft_view(paula, hers).body == "Paula private words" and hers.attachments.count() == 1
    assert not Message.objects.exclude(author=paula).exists()


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("post", "/staff/messages/drafts/{missing}/discard/", {}),
        ("post", "/staff/messages/attachments/{missing}/remove/", {}),
        ("get", "/messages/attachments/{missing}/", {}),
    ],
)
def test_an_id_that_does_not_exist_is_the_same_404(  # noqa: PLR0917 - pytest fixtures
    drafts: dict[str, Any],
    signed_in: Callable[[User], Client],
    nurse_baker: User,
    method: str,
    url: str,
    data: dict[str, str],
) -> None:
    response = _request(signed_in(nurse_baker), method, url, data, {**drafts, "missing": 987_654})
    assert response.status_code == 404


def test_each_side_sees_only_its_own_draft_on_the_thread_page(
    drafts: dict[str, Any], signed_in: Callable[[User], Client], dr_diaz: User, nurse_baker: User, paula: User
) -> None:
    """Dr. Diaz's page has his words; Nurse Baker's page of the same thread has neither's; Paula's has hers."""
    thread_id = drafts["thread"]
    client = signed_in(dr_diaz)
    html = client.get(f"/staff/messages/threads/{thread_id}/").content.decode()
    assert "Diaz private words" in html and "Paula private words" not in html
    client.logout()
    client = signed_in(nurse_baker)
    html = client.get(f"/staff/messages/threads/{thread_id}/").content.decode()
    assert (
        "Diaz private words" not in html and "Paula private words" not in html and drafts["token"] not in html
    )
    client.logout()
    client = signed_in(paula)
    html = client.get(f"/messages/threads/{thread_id}/").content.decode()
    assert "Paula private words" in html and "Diaz private words" not in html


def test_the_selector_gives_each_author_their_own_draft(
    drafts: dict[str, Any], dr_diaz: User, nurse_baker: User, paula: User
) -> None:
    thread = Thread.objects.get(pk=drafts["thread"])
    diaz = reply_draft(dr_diaz, thread)
    hers = reply_draft(paula, thread)
    assert diaz is not None and diaz.draft.pk == drafts["draft"]
    assert hers is not None and hers.draft.pk == drafts["paulas_draft"]
    assert reply_draft(nurse_baker, thread) is None


@pytest.mark.parametrize(
    "url",
    [
        "/messages/drafts/{draft}/",
        "/messages/drafts/{draft}/discard/",
        "/messages/attachments/{attachment}/remove/",
    ],
)
def test_his_own_draft_is_not_reached_through_the_patient_pages(
    drafts: dict[str, Any], signed_in: Callable[[User], Client], dr_diaz: User, url: str
) -> None:
    """The patient's draft pages are for patients: Dr. Diaz works his draft from the console only."""
    client = signed_in(dr_diaz)
    target = url.format(**drafts)
    response = client.get(target) if url.endswith("{draft}/") else client.post(target)
    assert response.status_code == 404
    _diaz_draft_untouched(drafts, dr_diaz)


# Files saved when chosen, and a save after the session ended (as on the patient's pages) ---------


def test_files_chosen_are_saved_with_his_draft_at_once(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """The reply box's autosave takes the files too: accepted ones come back with their download
    and console remove addresses, refused ones by name and reason; Send then sends them."""
    client = signed_in(dr_diaz)
    token = str(uuid.uuid4())
    answer = autosave(
        client,
        thread,
        token,
        "See the leaflet",
        attachments=[upload("leaflet.pdf", PDF), upload("tool.exe", b"MZ\x90\x00program")],
    ).json()
    attachment = Attachment.objects.get()
    assert answer["attached"] == [
        {
            "id": attachment.pk,
            "name": "leaflet.pdf",
            "size": "45\xa0bytes",
            "url": f"/messages/attachments/{attachment.pk}/",
            "remove_url": f"/staff/messages/attachments/{attachment.pk}/remove/",
        }
    ]
    assert [r["name"] for r in answer["refused"]] == ["tool.exe"]
    assert answer["draft_url"] == thread_url(thread)
    sent = client.post(thread_url(thread, "reply/"), {"send_token": token, "body": "See the leaflet"})
    assert sent.status_code == 302
    assert thread.messages.get(author_kind="staff").attachments.get() == attachment


def test_a_save_after_his_session_ended_is_not_taken(
    thread: Thread, signed_in: Callable[[User], Client], dr_diaz: User
) -> None:
    """Idle past the timeout, the save goes to the sign-in page (not JSON) and the draft keeps
    what was saved before; the page's script then keeps the text on screen."""
    import time

    from portal.accounts import sessions

    client = signed_in(dr_diaz)
    token = str(uuid.uuid4())
    autosave(client, thread, token, "Saved before the timeout")
    session = client.session
    session[sessions.LAST_ACTIVITY] = int(time.time()) - 3600
    session.save()
    late = autosave(client, thread, token, "Typed after the timeout")
    assert late.status_code == 302 and late["Location"].startswith("/account/sign-in/")
    assert draft_view(dr_diaz, Draft.objects.get()).body == "Saved before the timeout"


@pytest.mark.parametrize("who", ["nurse_baker", "nurse_nolan", "paula"])
def test_nobody_else_saves_files_into_his_draft(
    drafts: dict[str, Any], signed_in: Callable[[User], Client], isolated_vault: Any, who: str, request: Any
) -> None:
    """With the token of Dr. Diaz's form and a file: not found, no row and no file stored."""
    before = {p for p in (isolated_vault / "vault-files").rglob("*") if p.is_file()}
    client = signed_in(request.getfixturevalue(who))
    answer = client.post(
        f"/staff/messages/threads/{drafts['thread']}/draft/",
        {"send_token": drafts["token"], "body": "x", "attachments": [upload("x.pdf", PDF + b"other")]},
    )
    assert answer.status_code == 404
    assert Attachment.objects.count() == 2  # his and Paula's, nothing new
    assert {p for p in (isolated_vault / "vault-files").rglob("*") if p.is_file()} == before
