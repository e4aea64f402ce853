"""The operator console's help-desk pages: the shared shape of a task, and core's own tasks
(the audit chain's check, the e-mail delivery log).

A task that changes something is a POST with a reason; one that reads (and audits the
reading) is a GET with the reason in its address, so its pages can be paged and kept.
The apps' tasks (an account's, a patient record's) use the same helpers from their admin.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from portal.core.acting import Actor, Refused, actor_of
from portal.core.console import (
    DELIVERY_PAGE,
    check_read_delivery_log,
    check_requeue_stalled,
    check_send_email_again,
    check_verify_audit_chain,
)
from portal.core.forms import ConsoleReasonForm
from portal.core.models import OutgoingEmail

TASK = "admin/portal/task.html"


def task_page(
    request: HttpRequest,
    *,
    title: str,
    crumbs: list[tuple[str, str]],
    template: str = TASK,
    status: int = 200,
    **context: Any,
) -> HttpResponse:
    from portal.core.admin import portal_admin_site

    page = {**portal_admin_site.each_context(request), "title": title, "crumbs": crumbs, **context}
    return render(request, template, page, status=status)


def reasoned_change(
    request: HttpRequest,
    *,
    act: Callable[[Actor, str], Any],
    done: str,
    then: str | Callable[[str], str],
    **page: Any,
) -> HttpResponse:
    """GET shows what the task does and asks the reason; POST does it (`act(operator, reason)`),
    says it is done and goes to `then` (an address, or one made from the reason), or says why
    not with the reason kept."""
    form = ConsoleReasonForm(request.POST if request.method == "POST" else None)
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            act(actor_of(request), form.cleaned_data["reason"])
        except Refused as refused:
            refusal = refused.message
        else:
            messages.success(request, done)
            return redirect(then(form.cleaned_data["reason"]) if callable(then) else then)
    status = 400 if request.method == "POST" else 200
    return task_page(request, form=form, refusal=refusal, status=status, **page)


def reasoned_reading(
    request: HttpRequest, *, read: Callable[[Actor, str], Any], template: str, **page: Any
) -> HttpResponse:
    """GET without a reason asks for one; with a reason, reads (`read(operator, reason)`, which
    audits) and shows the result under the form."""
    bound = "reason" in request.GET
    form = ConsoleReasonForm(request.GET if bound else None)
    if not bound:
        return task_page(request, template=template, form=form, form_method="get", **page)
    if not form.is_valid():
        return task_page(request, template=template, form=form, form_method="get", status=400, **page)
    reason = form.cleaned_data["reason"]
    result = read(actor_of(request), reason)
    return task_page(
        request, template=template, form=form, form_method="get", result=result, reason=reason, **page
    )


def before_id(request: HttpRequest) -> int | None:
    """The "older" page's position: the id of the oldest row shown (anything else: page one)."""
    raw = request.GET.get("before", "")
    # ASCII digits only, and no more than a database id holds ("²" is a digit to Python).
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


# --- Core's own tasks ---------------------------------------------------------------------------


def _console_crumbs() -> list[tuple[str, str]]:
    return [("Help desk", reverse("operator:help_desk"))]


def _email_log_for(reason: str) -> str:
    return f"{reverse('operator:email_log')}?{urlencode({'reason': reason})}"


def help_desk(request: HttpRequest) -> HttpResponse:
    """What the help desk can do, and where each task is."""
    return task_page(request, title="Help desk", crumbs=[], template="admin/portal/help_desk.html")


def audit_chain(request: HttpRequest) -> HttpResponse:
    """Verify the audit chain (`manage.py audit_verify`): a POST, since it walks the whole log."""
    form = ConsoleReasonForm(request.POST if request.method == "POST" else None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = check_verify_audit_chain(by=actor_of(request), reason=form.cleaned_data["reason"])
    return task_page(
        request,
        title="Verify the audit chain",
        crumbs=_console_crumbs(),
        template="admin/portal/audit_chain.html",
        intro=[
            "Walks the whole audit log in the order it was sealed, checks every event against its "
            "hash and the one before it, and holds the end of the chain against the latest anchor "
            "written outside the database. It names the first event that was changed, removed, "
            "slipped in or never sealed. The same as manage.py audit_verify; on a very large log "
            "the command is quicker.",
        ],
        form=form,
        button="Verify the audit chain",
        report=report,
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


STATUS_FILTERS = [("", "All"), *OutgoingEmail.Status.choices]


def email_log(request: HttpRequest) -> HttpResponse:
    """The e-mail delivery log (`manage.py outbox log`): kinds, recipients, delivery state."""
    status = request.GET.get("status") or None
    if status not in OutgoingEmail.Status.values:
        status = None
    older_than = before_id(request)

    def read(by: Actor, reason: str) -> dict[str, Any]:
        rows = check_read_delivery_log(by=by, reason=reason, status=status, before_id=older_than)
        return {
            "rows": rows[:DELIVERY_PAGE],
            "older": rows[DELIVERY_PAGE - 1].id if len(rows) > DELIVERY_PAGE else None,
        }

    return reasoned_reading(
        request,
        read=read,
        template="admin/portal/email_log.html",
        title="E-mail delivery log",
        crumbs=_console_crumbs(),
        button="Show the delivery log",
        shown_status=status or "",
        status_filters=STATUS_FILTERS,
    )


def email_send_again(request: HttpRequest, email_id: int) -> HttpResponse:
    def act(by: Actor, reason: str) -> None:
        check_send_email_again(by=by, email_id=email_id, reason=reason)

    return reasoned_change(
        request,
        act=act,
        done="The e-mail is queued again; the delivery log shows how it goes.",
        then=_email_log_for,
        title=f"Send e-mail {email_id} again",
        crumbs=[*_console_crumbs(), ("E-mail delivery log", reverse("operator:email_log"))],
        intro=[
            "The e-mail goes again as it was written, to the same address, with its attempts "
            "counted from zero. A link in it that has expired or been replaced since says so when "
            "it is opened: for a password reset or an account confirmation, sending a new link from "
            "the person's account is often better.",
        ],
        button="Send it again",
    )


def email_requeue(request: HttpRequest) -> HttpResponse:
    def act(by: Actor, reason: str) -> None:
        queued = check_requeue_stalled(by=by, reason=reason)
        messages.info(request, f"Queued again: {queued} e-mail(s).")

    return reasoned_change(
        request,
        act=act,
        done="Done. The delivery log shows how they go.",
        then=_email_log_for,
        title="Queue again the e-mails whose delivery was lost",
        crumbs=[*_console_crumbs(), ("E-mail delivery log", reverse("operator:email_log"))],
        intro=[
            "An e-mail whose delivery task was lost (a process stopped between saving it and "
            "queueing it), or whose last attempt never reported back, is queued again. The portal "
            "does this by itself every minute (the job core.mail_sweep); use this when the jobs "
            "are not running. E-mails that failed are not touched: send each one again from the log.",
        ],
        button="Queue them again",
    )
