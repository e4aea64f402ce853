"""The care team console: team pools, what is assigned to me, and the thread page with reply,
quick texts, note, assign, complete (confirmed), move (confirmed).

A reply is a draft of its writer's from the first autosave (or Send) on: it
keeps its text, signature choice and files until it is sent or deleted. The
console's first page, the work queue, is `clinics.views.landing`, with what
messaging registers in `messaging.work_queue`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.clinics.access import access_patient, access_team_inbox, staff_of
from portal.core.acting import Refused, actor_of
from portal.core.paging import Cursor
from portal.messaging import actions, selectors
from portal.messaging.access import access_thread, access_thread_page
from portal.messaging.attachments import blocking
from portal.messaging.forms import (
    AssignForm,
    NoteForm,
    ReassignForm,
    SignatureForm,
    StaffNotificationForm,
    StaffReplyForm,
)
from portal.messaging.models import Category
from portal.messaging.notifications import frequency_of, wants_assignment_emails
from portal.messaging.selectors import DraftView
from portal.messaging.views.common import (
    add_refusal,
    attach_files,
    draft_saved,
    not_saved,
    send_token_of,
    sent_meanwhile,
    user_of,
)


@login_required
def teams(request: HttpRequest) -> HttpResponse:
    """The old address of the team list: the work queue has each team's counts now."""
    staff_of(user_of(request))
    return redirect("clinics:landing")


@login_required
def patient_conversations(request: HttpRequest, patient_id: int) -> HttpResponse:
    """One patient's conversations: their teams' ones, or all of them under a break-glass grant."""
    user = user_of(request)
    staff_of(user)
    patient = access_patient(user, patient_id)
    rows = selectors.patient_conversations(user, patient)
    actions.do_record_patient_conversations_read(
        by=actor_of(request), patient_id=patient.pk, thread_ids=[row.thread.pk for row in rows]
    )
    return render(request, "messaging/staff/patient.html", {"patient": patient, "rows": rows})


VIEW_NAMES = {
    "waiting": "Waiting",
    "overdue": "Overdue",
    "mine": "Assigned to me",
    "all": "All",
}
CAPTIONS = {
    "waiting": "Conversations waiting for an answer, the longest waiting first",
    "overdue": "Overdue conversations, the longest waiting first",
    "mine": "Open conversations assigned to you, the latest message first",
    "all": "All conversations, the latest message first",
}
EMPTY = {
    "waiting": "No conversation is waiting for an answer.",
    "overdue": "No conversation is overdue.",
    "mine": "No open conversation of this team is assigned to you.",
    "all": "No conversations here.",
}
AGE_CHOICES = [
    ("", "Any age"),
    ("1", "Older than 1 day"),
    ("3", "Older than 3 days"),
    ("7", "Older than 7 days"),
    ("30", "Older than 30 days"),
]


@login_required
def team(request: HttpRequest, team_id: int) -> HttpResponse:
    user = user_of(request)
    found = access_team_inbox(user, team_id)
    view = request.GET.get("view", "waiting")
    view = view if view in selectors.VIEWS else "waiting"
    category = request.GET.get("category", "")
    category = category if category in Category.values else ""
    age = request.GET.get("age", "")
    age = age if age in selectors.AGES else ""
    page = selectors.team_threads(
        user,
        found,
        view=view,
        category=category,
        older_than_days=selectors.AGES[age],
        cursor=Cursor.decode(request.GET.get("after")),
    )
    actions.do_record_team_inbox_read(
        by=actor_of(request), team_id=found.pk, view=view, thread_ids=[row.thread.pk for row in page.rows]
    )
    context = {
        "team": found,
        "page": page,
        "view": view,
        "category": category,
        "age": age,
        "categories": Category.choices,
        "views": list(VIEW_NAMES.items()),
        "caption": CAPTIONS[view],
        "empty": EMPTY[view],
        "ages": AGE_CHOICES,
        "me": staff_of(user),
    }
    return render(request, "messaging/staff/inbox.html", context)


@login_required
def assigned(request: HttpRequest) -> HttpResponse:
    """The open conversations assigned to me in all my teams, answered ones too."""
    user = user_of(request)
    me = staff_of(user)
    page = selectors.assigned_threads(user, cursor=Cursor.decode(request.GET.get("after")))
    actions.do_record_assigned_read(by=actor_of(request), thread_ids=[row.thread.pk for row in page.rows])
    return render(request, "messaging/staff/assigned.html", {"page": page, "me": me})


@login_required
@require_POST
def assignments_seen(request: HttpRequest) -> HttpResponse:
    staff_of(user_of(request))
    seen = actions.check_mark_assignments_seen(by=actor_of(request))
    messages.success(
        request,
        f"Marked {seen} assignment{pluralize(seen)} as seen. They stay assigned to you."
        if seen
        else "Nothing new to mark.",
    )
    return redirect("clinics:landing")


def _thread_page(
    request: HttpRequest,
    thread_id: int,
    *,
    status: int = 200,
    reply_form: StaffReplyForm | None = None,
    note_form: NoteForm | None = None,
    refusals: Any = (),
    problem: str = "",
    send_token: uuid.UUID | None = None,
) -> HttpResponse:
    user = user_of(request)
    found = access_thread_page(user, thread_id)
    view = selectors.thread_view(user, found)
    actions.do_open_thread(by=actor_of(request), thread=found, shown=view.messages)
    signature = selectors.signature_of(user)
    # This staff member's own unsent reply (after a refused send, the one just posted).
    reply_draft = selectors.reply_draft(user, found, send_token=send_token)
    context = {
        "view": view,
        "reply_form": reply_form or _reply_form(reply_draft, signature=signature),
        "reply_draft": reply_draft,
        "signature": signature,
        "note_form": note_form or NoteForm(),
        "assign_form": AssignForm(
            members=selectors.team_members(found.care_team), initial={"assignee": staff_of(user).pk}
        ),
        "reassign_form": ReassignForm(teams=selectors.reassign_targets(found)),
        "quick_texts": selectors.quick_texts_for(found),
        "me": staff_of(user),
        "refusals": list(refusals),
        "problem": problem,
    }
    return render(request, "messaging/staff/thread.html", context, status=status)


def _reply_form(draft: DraftView | None, *, signature: str) -> StaffReplyForm:
    if draft is None:
        return StaffReplyForm(initial={"send_token": uuid.uuid4(), "sign": bool(signature)})
    return StaffReplyForm(
        initial={"send_token": draft.draft.send_token, "body": draft.body, "sign": draft.draft.add_signature}
    )


@login_required
def thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    staff_of(user_of(request))
    return _thread_page(request, thread_id)


@login_required
@require_POST
def reply(request: HttpRequest, thread_id: int) -> HttpResponse:
    """Save the reply as a draft, attach its files, then send it; any refusal keeps all of it."""
    user = user_of(request)
    staff_of(user)
    found = access_thread(user, thread_id, with_keys=True)
    by = actor_of(request)
    token = send_token_of(request)
    form = StaffReplyForm(request.POST)
    try:
        draft = actions.check_save_staff_draft(
            by=by,
            send_token=token,
            thread_id=thread_id,
            thread=found,
            body=str(request.POST.get("body", "")),
            add_signature=bool(form["sign"].data),
        )
    except actions.AlreadySent as done:
        messages.info(request, "This reply was already sent.")
        return redirect("messaging_staff:thread", done.sent.thread_id)
    except Refused as refused:
        add_refusal(form, refused)
        problem = " ".join(str(error) for error in form.non_field_errors())
        return _thread_page(request, thread_id, reply_form=form, problem=problem, status=400)
    try:
        refusals, problem = attach_files(by, request, draft)
        if form.is_valid() and not blocking(refusals) and not problem:
            try:
                actions.check_send_staff_draft(by=by, draft_id=draft.pk, saved=draft)
            except Refused as refused:
                form.add_error("body", refused.message)
            else:
                messages.success(request, "Your reply was sent. The patient gets an e-mail notice.")
                return redirect("messaging_staff:thread", thread_id)
    except Http404:
        sent_meanwhile(by, token)
        messages.info(request, "This reply was already sent.")
        return redirect("messaging_staff:thread", thread_id)
    return _thread_page(
        request,
        thread_id,
        reply_form=form,
        refusals=refusals,
        problem=problem,
        send_token=token,
        status=503 if problem else 400,
    )


@login_required
@require_POST
def use_quick_text(request: HttpRequest, thread_id: int) -> HttpResponse:
    """A quick text's Use button without script: the reply as typed so far, with the quick text
    put at its end, saved as the draft (with any files chosen); the page opens with it."""
    user = user_of(request)
    staff_of(user)
    by = actor_of(request)
    token = send_token_of(request)
    form = StaffReplyForm(request.POST)
    try:
        draft = actions.check_use_quick_text(
            by=by,
            thread_id=thread_id,
            quick_text_id=_int(request, "quick_text"),
            send_token=token,
            body=str(request.POST.get("body", "")),
            add_signature=bool(form["sign"].data),
        )
    except actions.AlreadySent:
        messages.info(request, "This reply was already sent.")
        return redirect("messaging_staff:thread", thread_id)
    except Refused as refused:
        add_refusal(form, refused)
        problem = " ".join(str(error) for error in form.non_field_errors())
        return _thread_page(request, thread_id, reply_form=form, problem=problem, status=400)
    refusals, problem = attach_files(by, request, draft)
    if refusals or problem:
        status = 503 if problem else 400
        return _thread_page(
            request, thread_id, refusals=refusals, problem=problem, send_token=token, status=status
        )
    messages.success(
        request, "The quick text is at the end of your reply, saved as your draft. Edit it before sending."
    )
    return redirect(reverse("messaging_staff:thread", args=[thread_id]) + "#reply")


@login_required
@require_POST
def autosave(request: HttpRequest, thread_id: int) -> JsonResponse:
    """The reply box posts here after 10 s idle, when the page is hidden or left, and with files
    as soon as they are chosen (so a session that ends keeps them too)."""
    by = actor_of(request)
    staff_of(by.user)
    form = StaffReplyForm(request.POST)
    try:
        draft = actions.check_save_staff_draft(
            by=by,
            send_token=send_token_of(request),
            thread_id=thread_id,
            body=str(request.POST.get("body", "")),
            add_signature=bool(form["sign"].data),
        )
    except actions.AlreadySent:
        return JsonResponse({"sent": True})
    except Refused as refused:
        return not_saved(refused)
    return draft_saved(
        request,
        draft,
        draft_url=reverse("messaging_staff:thread", args=[thread_id]),
        remove_url="messaging_staff:remove_attachment",
    )


@login_required
@require_POST
def discard_draft(request: HttpRequest, draft_id: int) -> HttpResponse:
    staff_of(user_of(request))
    draft = actions.check_discard_draft(by=actor_of(request), draft_id=draft_id)
    messages.success(request, "Your draft reply was deleted.")
    return redirect(reverse("messaging_staff:thread", args=[draft.thread_id]) + "#reply")


@login_required
@require_POST
def remove_attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    staff_of(user_of(request))
    try:
        draft = actions.check_remove_attachment(by=actor_of(request), attachment_id=attachment_id)
    except Refused as refused:
        messages.error(request, refused.message)
        return redirect("messaging_staff:teams")
    messages.success(request, "The file was removed from your draft reply.")
    return redirect(reverse("messaging_staff:thread", args=[draft.thread_id]) + "#reply")


@login_required
@require_POST
def note(request: HttpRequest, thread_id: int) -> HttpResponse:
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            actions.check_add_note(by=actor_of(request), thread_id=thread_id, body=form.cleaned_data["note"])
        except Refused as refused:
            form.add_error("note", refused.message)
        else:
            messages.success(request, "Note added. Only your care team sees it; the patient never does.")
            return redirect("messaging_staff:thread", thread_id)
    return _thread_page(request, thread_id, note_form=form, status=400)


def _int(request: HttpRequest, name: str) -> int:
    raw = str(request.POST.get(name, ""))
    return int(raw) if raw.isdigit() else 0


def _confirmed(request: HttpRequest) -> bool:
    """The second step of a confirmed action: the confirmation page's own button was pressed."""
    return request.POST.get("confirmed") == "yes"


@login_required
@require_POST
def assign(request: HttpRequest, thread_id: int) -> HttpResponse:
    by = actor_of(request)
    try:
        done = actions.check_assign(by=by, thread_id=thread_id, assignee_id=_int(request, "assignee"))
    except Refused as refused:
        messages.error(request, refused.message)
        return redirect("messaging_staff:thread", thread_id)
    assignee = done.assigned_to
    if assignee is not None and assignee.pk == staff_of(by.user).pk:
        messages.success(request, "Assigned to you. It is listed under Assigned to me until it is completed.")
    elif assignee is not None:
        messages.success(
            request,
            f"Assigned to {assignee.display_name}. They see it on their work queue "
            "(and get an e-mail, if they chose to).",
        )
    return redirect("messaging_staff:thread", thread_id)


def _confirm_page(request: HttpRequest, thread_id: int, *, question: str, **context: Any) -> HttpResponse:
    """The confirmation step before completing or moving: what will happen, to which conversation."""
    user = user_of(request)
    found = access_thread(user, thread_id, with_keys=True)
    subject = selectors.thread_subject(found)
    actions.do_record_thread_read(by=actor_of(request), thread=found)
    return render(
        request,
        "messaging/staff/confirm.html",
        {"thread": found, "subject": subject, "question": question, **context},
    )


@login_required
@require_POST
def complete(request: HttpRequest, thread_id: int) -> HttpResponse:
    if not _confirmed(request):
        return _confirm_page(
            request, thread_id, question="Mark this conversation completed?", action="complete"
        )
    try:
        actions.check_complete(by=actor_of(request), thread_id=thread_id)
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request,
            "Marked completed. It no longer waits for an answer and is no longer in Assigned to me; "
            "if the patient writes again, it opens again.",
        )
    return redirect("messaging_staff:thread", thread_id)


@login_required
@require_POST
def reassign(request: HttpRequest, thread_id: int) -> HttpResponse:
    user = user_of(request)
    found = access_thread(user, thread_id)
    team_id = _int(request, "team")
    target = next((t for t in selectors.reassign_targets(found) if t.pk == team_id), None)
    if target is None:
        messages.error(request, "Choose another care team of this clinic.")
        return redirect("messaging_staff:thread", thread_id)
    if not _confirmed(request):
        return _confirm_page(
            request,
            thread_id,
            question=f"Move this conversation to {target.name}?",
            action="move",
            target=target,
        )
    try:
        actions.check_reassign(by=actor_of(request), thread_id=thread_id, team_id=team_id)
    except Refused as refused:
        messages.error(request, refused.message)
        return redirect("messaging_staff:thread", thread_id)
    messages.success(
        request,
        f"Moved to {target.name}. Its staff answer it now, and it is no longer assigned to anyone. "
        "The patient is told it moved, not why.",
    )
    return redirect("messaging_staff:team", found.care_team_id)


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    """How a staff member hears of their work by e-mail: new messages, and assignments."""
    user = user_of(request)
    staff_of(user)
    initial = {"frequency": frequency_of(user), "assignments": wants_assignment_emails(user)}
    form = StaffNotificationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actions.check_set_notifications(
            by=actor_of(request),
            frequency=form.cleaned_data["frequency"],
            assignment_emails=form.cleaned_data["assignments"],
        )
        messages.success(request, "Your choices were saved.")
        return redirect("messaging_staff:settings")
    return render(
        request, "messaging/staff/settings.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def signature(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    staff_of(user)
    form = SignatureForm(request.POST or None, initial={"signature": selectors.signature_of(user)})
    if request.method == "POST" and form.is_valid():
        try:
            actions.check_save_signature(by=actor_of(request), text=form.cleaned_data["signature"])
        except Refused as refused:
            form.add_error("signature", refused.message)
        else:
            messages.success(request, "Your signature was saved.")
            return redirect("messaging_staff:signature")
    status = 400 if form.errors else 200
    return render(request, "messaging/staff/signature.html", {"form": form}, status=status)
