"""The care team console: team inboxes and the thread page with reply, note, assign, complete, move.

A reply is a draft of its writer's from the first autosave (or Send) on: it
keeps its text, signature choice and files until it is sent or deleted.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.clinics.access import access_patient, access_team_inbox, staff_of
from portal.clinics.selectors import teams_of_staff
from portal.core.acting import Refused, actor_of
from portal.core.paging import Cursor
from portal.messaging import actions, selectors
from portal.messaging.access import access_thread, access_thread_page
from portal.messaging.attachments import blocking
from portal.messaging.forms import AssignForm, NoteForm, ReassignForm, SignatureForm, StaffReplyForm
from portal.messaging.models import Category
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
    user = user_of(request)
    staff_of(user)
    mine = list(teams_of_staff(user))
    if len(mine) == 1:
        return redirect("messaging_staff:team", mine[0].pk)
    rows = [(team, selectors.waiting_count(user, team)) for team in mine]
    return render(request, "messaging/staff/teams.html", {"rows": rows})


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
        "teams": list(teams_of_staff(user)),
        "views": [("waiting", "Waiting"), ("mine", "Assigned to me"), ("all", "All")],
        "ages": [
            ("", "Any age"),
            ("1", "Older than 1 day"),
            ("3", "Older than 3 days"),
            ("7", "Older than 7 days"),
            ("30", "Older than 30 days"),
        ],
    }
    return render(request, "messaging/staff/inbox.html", context)


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
            messages.success(request, "Note added. The patient does not see it.")
            return redirect("messaging_staff:thread", thread_id)
    return _thread_page(request, thread_id, note_form=form, status=400)


def _simple(request: HttpRequest, thread_id: int, done: str, act: Any) -> HttpResponse:
    try:
        act()
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, done)
    return redirect("messaging_staff:thread", thread_id)


def _int(request: HttpRequest, name: str) -> int:
    raw = str(request.POST.get(name, ""))
    return int(raw) if raw.isdigit() else 0


@login_required
@require_POST
def assign(request: HttpRequest, thread_id: int) -> HttpResponse:
    assignee = _int(request, "assignee")
    return _simple(
        request,
        thread_id,
        "Assigned.",
        lambda: actions.check_assign(by=actor_of(request), thread_id=thread_id, assignee_id=assignee),
    )


@login_required
@require_POST
def complete(request: HttpRequest, thread_id: int) -> HttpResponse:
    return _simple(
        request,
        thread_id,
        "Marked completed.",
        lambda: actions.check_complete(by=actor_of(request), thread_id=thread_id),
    )


@login_required
@require_POST
def reassign(request: HttpRequest, thread_id: int) -> HttpResponse:
    team_id = _int(request, "team")
    found = access_thread(user_of(request), thread_id)
    try:
        actions.check_reassign(by=actor_of(request), thread_id=thread_id, team_id=team_id)
    except Refused as refused:
        messages.error(request, refused.message)
        return redirect("messaging_staff:thread", thread_id)
    messages.success(request, "The conversation was moved to the other team. The patient is told it moved.")
    return redirect("messaging_staff:team", found.care_team_id)


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
