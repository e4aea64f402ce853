"""A care team's quick texts: the team's list with the form to add one, editing, deleting (confirmed)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.clinics.access import access_team_inbox, staff_of
from portal.core.acting import Refused, actor_of
from portal.messaging import actions, selectors
from portal.messaging.access import access_quick_text
from portal.messaging.forms import QuickTextForm
from portal.messaging.rules import FIRST_NAME
from portal.messaging.views.common import add_refusal, user_of


@login_required
def quick_texts(request: HttpRequest, team_id: int) -> HttpResponse:
    """The team's quick texts, and adding one."""
    user = user_of(request)
    staff_of(user)
    team = access_team_inbox(user, team_id)
    form = QuickTextForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            actions.check_add_quick_text(
                by=actor_of(request),
                team_id=team.pk,
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
            )
        except Refused as refused:
            add_refusal(form, refused)
        else:
            messages.success(request, "Quick text added. Everyone on the team can put it into replies now.")
            return redirect("messaging_staff:quick_texts", team.pk)
    context = {"team": team, "rows": selectors.quick_texts_of(team), "form": form, "placeholder": FIRST_NAME}
    return render(request, "messaging/staff/quick_texts.html", context, status=400 if form.errors else 200)


@login_required
def edit_quick_text(request: HttpRequest, quick_text_id: int) -> HttpResponse:
    user = user_of(request)
    staff_of(user)
    found = access_quick_text(user, quick_text_id)
    form = QuickTextForm(
        request.POST if request.method == "POST" else None, initial={"title": found.title, "text": found.text}
    )
    if form.is_bound and form.is_valid():
        try:
            actions.check_change_quick_text(
                by=actor_of(request),
                quick_text_id=found.pk,
                title=form.cleaned_data["title"],
                text=form.cleaned_data["text"],
            )
        except Refused as refused:
            add_refusal(form, refused)
        else:
            messages.success(request, "Quick text saved. Replies it went into before keep their words.")
            return redirect("messaging_staff:quick_texts", found.care_team_id)
    context = {"quick_text": found, "team": found.care_team, "form": form, "placeholder": FIRST_NAME}
    return render(
        request, "messaging/staff/quick_text_edit.html", context, status=400 if form.errors else 200
    )


@login_required
@require_POST
def delete_quick_text(request: HttpRequest, quick_text_id: int) -> HttpResponse:
    """Delete, after a confirmation step (a page, so it works without script)."""
    user = user_of(request)
    staff_of(user)
    found = access_quick_text(user, quick_text_id)
    if request.POST.get("confirmed") != "yes":
        return render(
            request, "messaging/staff/quick_text_delete.html", {"quick_text": found, "team": found.care_team}
        )
    actions.check_delete_quick_text(by=actor_of(request), quick_text_id=found.pk)
    messages.success(request, "Quick text deleted. Replies it went into keep their words.")
    return redirect("messaging_staff:quick_texts", found.care_team_id)
