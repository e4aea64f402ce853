"""The patient's mailbox: folders, threads, compose, reply, drafts, search, notices."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from portal.clinics.access import patient_of, team_to_write
from portal.clinics.models import CareTeam
from portal.core import about
from portal.core.acting import Refused, actor_of
from portal.core.navigation import once_per_request
from portal.core.paging import Cursor
from portal.messaging import actions, rules, selectors
from portal.messaging.access import (
    access_draft,
    access_folder,
    access_message,
    access_thread,
    access_thread_page,
)
from portal.messaging.attachments import blocking
from portal.messaging.forms import ComposeForm, FolderForm, NotificationForm, ReplyForm, SearchForm
from portal.messaging.home import UNREAD_COUNT
from portal.messaging.notifications import frequency_of
from portal.messaging.rules import SUBJECT_MAX
from portal.messaging.views.common import (
    add_refusal,
    attach_files,
    draft_saved,
    not_saved,
    send_token_of,
    sent_meanwhile,
    user_of,
)


def _mailbox(request: HttpRequest, **context: Any) -> dict[str, Any]:
    user = user_of(request)
    unread, folders = selectors.mailbox_sidebar(user)
    # Every unread conversation, filed or not: the Unread view's count and the menu's (asked once).
    filed = sum(folder.unread for folder in folders)
    everywhere = once_per_request(request, UNREAD_COUNT, lambda: unread + filed)
    return {
        "folders": [(folder, folder.unread) for folder in folders],
        "unread": unread,
        "unread_filed": filed,
        "unread_everywhere": everywhere,
        **context,
    }


def _box(request: HttpRequest, box: str, *, title: str, folder: Any = None) -> HttpResponse:
    patient_of(user_of(request))
    cursor = Cursor.decode(request.GET.get("after"))
    page = selectors.patient_threads(user_of(request), box=box, folder=folder, cursor=cursor)
    return render(
        request,
        "messaging/box.html",
        _mailbox(request, page=page, box=box, title=title, folder=folder, current=box),
    )


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    return _box(request, "inbox", title="Inbox")


@login_required
def unread(request: HttpRequest) -> HttpResponse:
    """The Inbox's Unread view: every unread conversation, in the Inbox or in a folder."""
    return _box(request, selectors.UNREAD, title="Unread conversations")


@login_required
def trash(request: HttpRequest) -> HttpResponse:
    return _box(request, "trash", title="Trash")


@login_required
def folder(request: HttpRequest, folder_id: int) -> HttpResponse:
    found = access_folder(user_of(request), folder_id)
    return _box(request, "folder", title=found.name, folder=found)


@login_required
def sent(request: HttpRequest) -> HttpResponse:
    cursor = Cursor.decode(request.GET.get("after"))
    page = selectors.sent_messages(user_of(request), cursor=cursor)
    return render(request, "messaging/sent.html", _mailbox(request, page=page, current="sent"))


@login_required
def drafts(request: HttpRequest) -> HttpResponse:
    rows = selectors.drafts_of(user_of(request))
    return render(request, "messaging/drafts.html", _mailbox(request, rows=rows, current="drafts"))


@login_required
@require_http_methods(["GET", "POST"])
def folders(request: HttpRequest) -> HttpResponse:
    patient_of(user_of(request))
    form = FolderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.check_create_folder(by=actor_of(request), name=form.cleaned_data["name"])
        except Refused as refused:
            form.add_error("name", refused.message)
        else:
            messages.success(request, "Folder made.")
            return redirect("messaging:folders")
    status = 400 if form.errors else 200
    return render(
        request, "messaging/folders.html", _mailbox(request, form=form, current="folders"), status=status
    )


@login_required
@require_POST
def remove_folder(request: HttpRequest, folder_id: int) -> HttpResponse:
    try:
        actions.check_delete_folder(by=actor_of(request), folder_id=folder_id)
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, "Folder removed.")
    return redirect("messaging:folders")


# Compose and drafts -------------------------------------------------------------------------------


def _teams(request: HttpRequest) -> list[Any]:
    return selectors.teams_to_write(user_of(request))


@login_required
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    patient_of(user)
    if request.method == "POST":
        return _compose_post(request)
    teams = _teams(request)
    initial: dict[str, Any] = {"send_token": uuid.uuid4()}
    from_id = request.GET.get("from", "")
    if from_id.isdigit():
        # "Start a new message" from a closed thread: same team and subject, by thread id only.
        start = selectors.new_message_from(user, int(from_id))
        initial.update(care_team=start.care_team_id, subject=start.subject[:50], category=start.category)
    item = about.describe(actor_of(request), request.GET.get("about", ""))
    if item is not None:
        # "Ask my care team about this" on a result or a note: its name and date as the subject,
        # and the conversation keeps a link back to it (ids only, here and in the form).
        initial.update(about=item.reference, subject=item.subject[:SUBJECT_MAX], category=item.category)
    form = ComposeForm(initial=initial, teams=teams)
    return render(
        request,
        "messaging/compose.html",
        _mailbox(request, form=form, draft=None, refusals=[], current="new"),
    )


@login_required
def open_draft(request: HttpRequest, draft_id: int) -> HttpResponse:
    user = user_of(request)
    patient_of(user)
    draft = access_draft(user, draft_id)
    if draft.thread is not None:
        if rules.reply_refusal(draft.thread) is None:
            # This draft, not another of the same conversation (two tabs make two drafts).
            url = reverse("messaging:thread", args=[draft.thread.pk])
            return redirect(f"{url}?draft={draft.pk}#reply")
        draft = actions.check_reopen_as_new_message(by=actor_of(request), draft_id=draft.pk)
        messages.info(
            request,
            "That conversation no longer takes replies, so your reply is now a new message, "
            "with the same words and files. Check the care team and send it.",
        )
    view = selectors.draft_view(user, draft)
    form = ComposeForm(
        initial={
            "send_token": draft.send_token,
            "care_team": draft.care_team.pk if draft.care_team else None,
            "category": draft.category,
            "subject": view.subject,
            "body": view.body,
            "about": f"{draft.about_kind}:{draft.about_id}" if draft.about_kind else "",
        },
        teams=_teams(request),
    )
    return render(
        request,
        "messaging/compose.html",
        _mailbox(request, form=form, draft=view, refusals=[], current="drafts"),
    )


def _compose_post(request: HttpRequest) -> HttpResponse:
    by = actor_of(request)
    token = send_token_of(request)
    # Only the team the form names is read; the whole list (with the last message to each, for
    # its order) only when the page is shown again.
    team = team_to_write(user_of(request), ComposeForm.posted_team_id(request.POST))
    form = ComposeForm(request.POST, teams=[team] if team is not None else [])
    typed = any(str(request.POST.get(name, "")).strip() for name in ("subject", "body"))
    if not typed and not request.FILES and not actions.has_draft(by=by, send_token=token):
        # Send on an empty form: say what is missing, keep no empty draft in the Drafts list.
        form.is_valid()
        return _compose_again(request, form, draft=None, refusals=[], status=400)
    wants_send = request.POST.get("action", "send") == "send"
    direct = wants_send and typed and team is not None and not request.FILES and not request.POST.get("about")
    sent = _send_as_posted(request, form, token=token, team=team) if direct and form.is_valid() else None
    draft = sent or _save_compose_draft(request, form, token=token, team=team)
    if isinstance(draft, HttpResponse):
        return draft
    try:
        refusals, problem = attach_files(by, request, draft)
        if form.is_valid() and not blocking(refusals) and wants_send and not problem:
            try:
                message = actions.check_send_draft(by=by, draft_id=draft.pk, saved=draft)
            except Refused as refused:
                form.add_error(refused.field if refused.field in form.fields else None, refused.message)
            else:
                messages.success(request, "Your message was sent to your care team.")
                return redirect("messaging:thread", message.thread.pk)
    except Http404:
        earlier = sent_meanwhile(by, token)
        messages.info(request, "This message was already sent.")
        return redirect("messaging:thread", earlier.thread_id)
    if not wants_send and not refusals and not problem:
        messages.success(request, "Your draft was saved.")
        return redirect("messaging:drafts")
    view = selectors.draft_view(user_of(request), access_draft(user_of(request), draft.pk))
    return _compose_again(
        request, form, draft=view, refusals=refusals, problem=problem, status=503 if problem else 400
    )


def _send_as_posted(
    request: HttpRequest, form: ComposeForm, *, token: uuid.UUID, team: CareTeam | None
) -> HttpResponse | None:
    """Most Sends: no draft yet, no file, nothing to fix. Sent as posted, with no draft saved
    and deleted on the way; None sends the form the draft's way (saved, then sent)."""
    if team is None:
        return None
    try:
        message = actions.check_send_new(
            by=actor_of(request),
            send_token=token,
            care_team=team,
            category=form.cleaned_data["category"],
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
        )
    except actions.AlreadySent as done:
        messages.info(request, "This message was already sent.")
        return redirect("messaging:thread", done.sent.thread_id)
    except (actions.DraftNeeded, DatabaseError):
        # A database error rolled the send back whole: the draft's way saves what was typed
        # first, as every Send did before, then tries the send again.
        return None
    messages.success(request, "Your message was sent to your care team.")
    return redirect("messaging:thread", message.thread.pk)


def _compose_again(request: HttpRequest, form: ComposeForm, *, status: int, **context: Any) -> HttpResponse:
    """The posted compose form shown again, its team list whole (the one written to last first)."""
    form.offer(_teams(request))
    return render(
        request,
        "messaging/compose.html",
        _mailbox(request, form=form, current="new", **context),
        status=status,
    )


def _save_compose_draft(
    request: HttpRequest, form: ComposeForm, *, token: uuid.UUID, team: CareTeam | None
) -> Any:
    """The posted form saved as its draft, or the page to answer instead (sent already, refused)."""
    try:
        return actions.check_save_draft(
            by=actor_of(request),
            send_token=token,
            care_team_id=team.pk if team is not None else None,
            care_team=team,
            thread_id=None,
            category=str(request.POST.get("category", "")),
            subject=str(request.POST.get("subject", "")),
            body=str(request.POST.get("body", "")),
            about_reference=str(request.POST.get("about", "")),
        )
    except actions.AlreadySent as done:
        messages.info(request, "This message was already sent.")
        return redirect("messaging:thread", done.sent.thread_id)
    except Refused as refused:
        # Too long, or too many drafts: nothing was saved, and the form keeps what was typed.
        add_refusal(form, refused)
        return _compose_again(request, form, draft=None, refusals=[], status=400)


@login_required
@require_POST
def autosave(request: HttpRequest) -> HttpResponse:
    """The compose and reply pages post here after 10 s idle and when the page is left."""
    by = actor_of(request)
    token = send_token_of(request)
    thread_raw = str(request.POST.get("thread", ""))
    team = team_to_write(user_of(request), ComposeForm.posted_team_id(request.POST))
    try:
        draft = actions.check_save_draft(
            by=by,
            send_token=token,
            care_team_id=team.pk if team is not None else None,
            care_team=team,
            thread_id=int(thread_raw) if thread_raw.isdigit() else None,
            category=str(request.POST.get("category", "")),
            subject=str(request.POST.get("subject", "")),
            body=str(request.POST.get("body", "")),
            about_reference=str(request.POST.get("about", "")),
        )
    except actions.AlreadySent:
        return JsonResponse({"sent": True})
    except Refused as refused:
        return not_saved(refused)
    return draft_saved(
        request,
        draft,
        draft_url=reverse("messaging:open_draft", args=[draft.pk]),
        remove_url="messaging:remove_attachment",
    )


@login_required
@require_POST
def discard_draft(request: HttpRequest, draft_id: int) -> HttpResponse:
    patient_of(user_of(request))
    actions.check_discard_draft(by=actor_of(request), draft_id=draft_id)
    messages.success(request, "The draft was deleted.")
    return redirect("messaging:drafts")


@login_required
@require_POST
def remove_attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    patient_of(user_of(request))
    try:
        draft = actions.check_remove_attachment(by=actor_of(request), attachment_id=attachment_id)
    except Refused as refused:
        messages.error(request, refused.message)
        return redirect("messaging:inbox")
    messages.success(request, "The file was removed from your draft.")
    return redirect("messaging:open_draft", draft.pk)


# A thread ---------------------------------------------------------------------------------------


@login_required
def thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    user = user_of(request)
    patient_of(user)
    found = access_thread_page(user, thread_id)
    return _thread_page(request, found, ReplyForm(initial={"send_token": uuid.uuid4()}))


def _thread_page(
    request: HttpRequest,
    found: Any,
    form: ReplyForm,
    *,
    refusals: Any = (),
    problem: str = "",
    status: int = 200,
    send_token: uuid.UUID | None = None,
) -> HttpResponse:
    user = user_of(request)
    view = selectors.thread_view(user, found)
    actions.do_open_thread(by=actor_of(request), thread=found, shown=view.messages)
    # After a refused send, the draft of the form just posted (its files are listed to keep or remove);
    # from the Drafts list, the draft chosen there.
    chosen = str(request.GET.get("draft", ""))
    reply_draft = selectors.reply_draft(
        user, found, send_token=send_token, draft_id=int(chosen) if chosen.isdigit() else None
    )
    if reply_draft is not None and not form.is_bound:
        form = ReplyForm(initial={"send_token": reply_draft.draft.send_token, "body": reply_draft.body})
    context = _mailbox(
        request,
        view=view,
        form=form,
        reply_draft=reply_draft,
        refusals=list(refusals),
        problem=problem,
        current=found.location,
    )
    return render(request, "messaging/thread.html", context, status=status)


@login_required
@require_POST
def reply(request: HttpRequest, thread_id: int) -> HttpResponse:
    user = user_of(request)
    by = actor_of(request)
    patient_of(user)
    found = access_thread(user, thread_id, with_keys=True)
    token = send_token_of(request)
    form = ReplyForm(request.POST)
    try:
        draft = actions.check_save_draft(
            by=by,
            send_token=token,
            care_team_id=None,
            thread_id=found.pk,
            thread=found,
            category="",
            subject="",
            body=str(request.POST.get("body", "")),
        )
    except actions.AlreadySent as done:
        messages.info(request, "This reply was already sent.")
        return redirect("messaging:thread", done.sent.thread_id)
    except Refused as refused:
        add_refusal(form, refused)
        return _thread_page(
            request, access_thread_page(user, thread_id), form, problem=_non_field(form), status=400
        )
    try:
        refusals, problem = attach_files(by, request, draft)
        if form.is_valid() and not blocking(refusals) and not problem:
            try:
                actions.check_send_draft(by=by, draft_id=draft.pk, saved=draft)
            except Refused as refused:
                form.add_error("body" if refused.field == "body" else None, refused.message)
            else:
                messages.success(request, "Your reply was sent.")
                return redirect("messaging:thread", found.pk)
    except Http404:
        sent_meanwhile(by, token)
        messages.info(request, "This reply was already sent.")
        return redirect("messaging:thread", found.pk)
    if rules.reply_refusal(found) is not None:
        # It closed while she typed: what she wrote goes on, as a new message.
        return redirect("messaging:open_draft", draft.pk)
    return _thread_page(
        request,
        access_thread_page(user, thread_id),
        form,
        refusals=refusals,
        problem=problem or _non_field(form),
        status=503 if problem else 400,
        send_token=token,
    )


def _non_field(form: ReplyForm) -> str:
    return " ".join(str(error) for error in form.non_field_errors())


@login_required
@require_POST
def move(request: HttpRequest, thread_id: int) -> HttpResponse:
    try:
        moved = actions.check_move_thread(
            by=actor_of(request), thread_id=thread_id, destination=str(request.POST.get("to", ""))
        )
    except Refused as refused:
        messages.error(request, refused.message)
        return redirect("messaging:thread", thread_id)
    messages.success(
        request,
        "The conversation was moved."
        if moved.location != "trash"
        else "The conversation was moved to Trash. You can restore it from there.",
    )
    return redirect("messaging:thread", thread_id)


@login_required
@require_POST
def mark_unread(request: HttpRequest, thread_id: int) -> HttpResponse:
    actions.check_mark_unread(by=actor_of(request), thread_id=thread_id)
    messages.success(request, "Marked as unread.")
    return redirect("messaging:inbox")


@login_required
def message_link(request: HttpRequest, message_id: int) -> HttpResponse:
    user = user_of(request)
    message = access_message(user, message_id)
    side = "messaging_staff:thread" if user.is_staff_member else "messaging:thread"
    return redirect(reverse(side, args=[message.thread.pk]) + f"#message-{message.pk}")


# Search and settings ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    # The words are health information: they come in the request body, never in the
    # address, which server and proxy access logs and the browser's history keep.
    user = user_of(request)
    patient = patient_of(user)
    teams = _teams(request)
    form = SearchForm(request.POST or None, teams=teams)
    rows, more = None, False
    if request.method == "POST" and form.is_valid():
        found = selectors.search_messages(user, _search_query(form.cleaned_data), limit=SEARCH_LIMIT + 1)
        rows, more = found[:SEARCH_LIMIT], len(found) > SEARCH_LIMIT
        actions.do_record_search(by=actor_of(request), patient_id=patient.pk, results=len(rows))
    status = 400 if form.errors else 200
    return render(
        request,
        "messaging/search.html",
        _mailbox(request, form=form, rows=rows, more=more, limit=SEARCH_LIMIT, current="search"),
        status=status,
    )


SEARCH_LIMIT = 100  # conversations listed at most; the page says when there are more


def _search_query(data: dict[str, Any]) -> selectors.SearchQuery:
    period = data.get("period") or ""
    since = until = None
    if period.isdigit():
        since = timezone.now() - timedelta(days=30 * int(period))
    elif period == "custom":
        zone = timezone.get_current_timezone()
        if data.get("since"):
            since = datetime.combine(data["since"], time.min, tzinfo=zone)
        if data.get("until"):
            until = datetime.combine(data["until"], time.min, tzinfo=zone) + timedelta(days=1)
    return selectors.SearchQuery(
        words=data.get("words") or "",
        team_id=data.get("team"),
        category=data.get("category") or "",
        since=since,
        until=until,
    )


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if user.is_staff_member:
        return redirect("messaging_staff:settings")  # staff also choose assignment e-mails there
    form = NotificationForm(request.POST or None, initial={"frequency": frequency_of(user)})
    if request.method == "POST":
        if not form.is_valid():
            return HttpResponseBadRequest("Choose one of the options.")
        actions.check_set_notifications(by=actor_of(request), frequency=form.cleaned_data["frequency"])
        messages.success(request, "Your choice was saved.")
        return redirect("messaging:settings")
    context = {"form": form, "current": "settings"}
    if user.is_patient:
        context = _mailbox(request, **context)
    return render(request, "messaging/settings.html", context)
