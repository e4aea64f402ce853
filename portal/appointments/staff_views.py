"""The scheduler's and care team's pages: a team's day or week, its requests, its templates."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.accounts.models import User
from portal.appointments import actions, selectors
from portal.appointments.access import (
    access_request,
    may_edit_templates,
    scheduling_team,
    team_provider,
    team_providers,
)
from portal.appointments.forms import BlockDayForm, DeclineForm, TemplateForm
from portal.clinics.access import staff_of, teams_of
from portal.clinics.models import CareTeam, StaffMember
from portal.core.acting import Refused, actor_of, refuse
from portal.core.days import parse_day


def _staff(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 - login_required ran first
    staff_of(user)
    return user


@login_required
def teams(request: HttpRequest) -> HttpResponse:
    user = _staff(request)
    mine = list(teams_of(user).select_related("clinic").order_by("name"))
    if len(mine) == 1:
        return redirect("appointments_staff:team", mine[0].pk)
    return render(request, "appointments/staff_teams.html", {"teams": mine})


def _day(raw: str) -> tuple[date | None, str]:
    """The day asked for, or None (today) and why it was not taken."""
    if not raw:
        return None, ""
    try:  # typed month first (04/28/2027), or ISO in the page's own links
        day = parse_day(raw, what="the day") if "/" in raw else date.fromisoformat(raw)
    except (ValueError, ValidationError):
        return None, "Write the day as month/day/year, for example: 04/28/2027. Today is shown."
    error = actions.day_out_of_range(day)
    return (None, f"{error} Today is shown.") if error else (day, "")


def _provider(user: User, team: CareTeam, raw: str) -> StaffMember | None:
    """The provider asked for in the address, or None (all of the team). An id that is not one
    of this team's providers, or not a number, is not found."""
    if not raw:
        return None
    if not raw.isdigit():
        raise refuse(user, "staff_member", 0)
    return team_provider(user, team, int(raw))


def _team_page(
    request: HttpRequest, found: CareTeam, *, block_form: BlockDayForm | None = None, status: int = 200
) -> HttpResponse:
    user = _staff(request)
    week = request.GET.get("view") == "week"
    provider = _provider(user, found, request.GET.get("provider", ""))
    day, error = _day(request.GET.get("day", ""))
    if error:
        messages.error(request, error)
        status = 400
    view = selectors.team_day(actor_of(request), found, day, days=7 if week else 1, provider=provider)
    context = {
        "view": view,
        "week": week,
        "may_edit": may_edit_templates(user),
        "block_form": block_form or BlockDayForm(),
    }
    return render(request, "appointments/staff_team.html", context, status=status)


@login_required
def team(request: HttpRequest, team_id: int) -> HttpResponse:
    return _team_page(request, scheduling_team(_staff(request), team_id))


@login_required
@require_http_methods(["GET", "POST"])
def edit_template(request: HttpRequest, team_id: int, template_id: int | None = None) -> HttpResponse:
    user = _staff(request)
    found = scheduling_team(user, team_id)
    template = None
    if template_id is not None:
        template = selectors.template_of(found, template_id)
        if template is None:
            raise refuse(user, "availability_template", template_id)
    initial = {}
    if template is not None:
        initial = {
            "appointment_type": template.appointment_type_id,
            "weekdays": list(template.weekdays),
            "starts_at": template.starts_at,
            "ends_at": template.ends_at,
            "slot_minutes": template.slot_minutes,
            "mode": template.mode,
            "provider": template.provider_id or "",
        }
    form = TemplateForm(request.POST or None, initial=initial)
    form.fields["appointment_type"].choices = [(t.pk, t.name) for t in selectors.types_of(found)]  # type: ignore[attr-defined]
    form.fields["provider"].choices = [("", "Any of the team")] + [  # type: ignore[attr-defined]
        (p.pk, p.display_name) for p in team_providers(found)
    ]
    conflicts = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        rules = actions.TemplateRules(
            data["appointment_type"],
            "".join(data["weekdays"]),
            data["starts_at"],
            data["ends_at"],
            data["slot_minutes"],
            data["mode"],
            data["provider"],
        )
        try:
            template, conflicts = actions.check_save_template(
                by=actor_of(request), team_id=found.pk, rules=rules, template_id=template_id
            )
        except Refused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            if not conflicts:
                messages.success(request, "Template saved. Open times are made again from it; bookings stay.")
                return redirect("appointments_staff:team", found.pk)
    context = {
        "team": found,
        "form": form,
        "template": template,
        "conflicts": conflicts,
        "may_edit": may_edit_templates(user),
    }
    return render(request, "appointments/staff_template.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def block_day(request: HttpRequest, team_id: int) -> HttpResponse:
    user = _staff(request)
    found = scheduling_team(user, team_id)
    form = BlockDayForm(request.POST)
    if form.is_valid():
        try:
            on_it = actions.check_block_day(
                by=actor_of(request),
                team_id=found.pk,
                day=form.cleaned_data["day"],
                label=form.cleaned_data["label"],
            )
        except Refused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            note = f" {len(on_it)} booking(s) that day stay: move or cancel them." if on_it else ""
            messages.success(request, f"The day is closed to new bookings.{note}")
            return redirect("appointments_staff:team", found.pk)
    # What was typed stays in the form, with what is wrong with it.
    return _team_page(request, found, block_form=form, status=400)


@login_required
@require_POST
def mark(request: HttpRequest, appointment_id: int) -> HttpResponse:
    _staff(request)
    by = actor_of(request)
    status = request.POST.get("status", "")
    try:
        if status == "cancelled":
            appointment = actions.check_cancel(by=by, appointment_id=appointment_id)
        else:
            appointment = actions.check_mark(by=by, appointment_id=appointment_id, status=status)
    except Refused as refused:
        messages.error(request, refused.message)
        return redirect("appointments_staff:teams")
    messages.success(request, "Saved.")
    return redirect("appointments_staff:team", appointment.care_team_id)


@login_required
@require_http_methods(["GET", "POST"])
def handle_request(request: HttpRequest, request_id: int) -> HttpResponse:
    user = _staff(request)
    by = actor_of(request)
    found = access_request(user, request_id)
    scheduling_team(user, found.care_team_id)
    decline = DeclineForm(request.POST if request.POST.get("do") == "decline" else None)
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("do") == "book":
                slot = request.POST.get("slot", "")
                if not slot.isdigit():
                    raise Refused("Choose a time to book.")
                actions.check_book_request(by=by, request_id=found.pk, slot_id=int(slot))
                messages.success(request, "Booked. The patient is told by e-mail.")
                return redirect("appointments_staff:team", found.care_team_id)
            if decline.is_valid():
                actions.check_decline_request(
                    by=by, request_id=found.pk, reason=decline.cleaned_data["reason"]
                )
                messages.success(request, "Declined. The patient sees your reason.")
                return redirect("appointments_staff:team", found.care_team_id)
        except Refused as refused:
            error = refused.message
    _, days = selectors.slot_days(found.care_team, found.appointment_type, limit=40)
    context = {
        "found": found,
        "reason": selectors.request_reason(found, by=by),
        "days": days,
        "decline": decline,
        "error": error,
    }
    return render(
        request, "appointments/staff_request.html", context, status=400 if error or decline.errors else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def book_for_patient(request: HttpRequest, team_id: int) -> HttpResponse:
    """A patient on the phone: choose them, the type, a time; booked as the acting staff member."""
    user = _staff(request)
    found = scheduling_team(user, team_id)
    types = selectors.types_of(found)
    raw_type = request.GET.get("type", "") or request.POST.get("type", "")
    kind = next((t for t in types if str(t.pk) == raw_type), types[0] if types else None)
    error = ""
    if request.method == "POST" and kind is not None:
        patient, slot = request.POST.get("patient", ""), request.POST.get("slot", "")
        if not (patient.isdigit() and slot.isdigit()):
            error = "Choose the patient and a time."
        else:
            try:
                actions.check_book(
                    by=actor_of(request),
                    team_id=found.pk,
                    type_id=kind.pk,
                    slot_id=int(slot),
                    reason="",
                    patient_id=int(patient),
                )
            except Refused as refused:
                error = refused.message
            else:
                messages.success(request, "Booked. The patient is told by e-mail.")
                return redirect("appointments_staff:team", found.pk)
    days = selectors.slot_days(found, kind, limit=60)[1] if kind is not None else []
    context = {
        "team": found,
        "types": types,
        "kind": kind,
        "days": days,
        "error": error,
        "patients": selectors.team_patients(actor_of(request), found),
        "chosen": request.POST.get("patient", ""),
    }
    return render(request, "appointments/staff_book.html", context, status=400 if error else 200)
