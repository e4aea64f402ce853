"""The patient's appointment pages. Thin: parse, open the door, act or read, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from portal.accounts.models import User
from portal.appointments import actions, selectors
from portal.appointments.access import (
    access_appointment,
    access_offer,
    patient_team,
    patient_team_type,
    team_type,
)
from portal.appointments.forms import ReasonForm, RequestForm
from portal.appointments.ics import calendar_file
from portal.appointments.slots import schedule_of
from portal.clinics.access import patient_of
from portal.core.acting import Refused, actor_of, audit_event


def _patient(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 - login_required ran first
    patient_of(user)
    return user


@login_required
def appointment_list(request: HttpRequest) -> HttpResponse:
    _patient(request)
    mine = selectors.appointments_of(actor_of(request))
    return render(request, "appointments/list.html", {"mine": mine})


@login_required
def choose_team(request: HttpRequest) -> HttpResponse:
    user = _patient(request)
    return render(request, "appointments/choose_team.html", {"teams": selectors.teams_to_book(user)})


@login_required
def choose_type(request: HttpRequest, team_id: int) -> HttpResponse:
    team = patient_team(_patient(request), team_id)
    context = {"team": team, "types": selectors.types_of(team), "schedule": schedule_of(team)}
    return render(request, "appointments/choose_type.html", context)


WEEKDAYS = list(enumerate(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]))


def _filters(request: HttpRequest) -> tuple[int | None, str]:
    raw = request.GET.get("weekday", "")
    weekday = int(raw) if raw.isdigit() and int(raw) < 7 else None
    part = request.GET.get("part", "")
    return weekday, part if part in ("morning", "afternoon") else ""


@login_required
def choose_slot(request: HttpRequest, team_id: int, type_id: int) -> HttpResponse:
    kind = patient_team_type(_patient(request), team_id, type_id)
    team = kind.care_team
    if not kind.online or kind.request_only:
        return redirect("appointments:request", team.pk, kind.pk)
    weekday, part = _filters(request)
    more = request.GET.get("more") == "1"
    schedule, days = selectors.slot_days(team, kind, weekday=weekday, part=part, limit=400 if more else 40)
    context = {
        "more": more,
        "team": team,
        "kind": kind,
        "schedule": schedule,
        "days": days,
        # Each time's link is this page's address and the slot's id (the `confirm` route), made
        # once here rather than reversed for each of up to 400 times.
        "page": reverse("appointments:choose_slot", args=[team.pk, kind.pk]),
        "weekday": weekday,
        "part": part,
        "earliest": days[0].slots[0] if days else None,
        "weekdays": WEEKDAYS,
    }
    return render(request, "appointments/choose_slot.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, team_id: int, type_id: int, slot_id: int) -> HttpResponse:
    user = _patient(request)
    by = actor_of(request)
    booking = actions.check_booking(by=by, team_id=team_id, type_id=type_id, slot_id=slot_id)
    form = ReasonForm(request.POST or None)
    step = request.POST.get("step", "reason")
    taken: list = []
    if request.method == "POST" and form.is_valid():
        if step == "confirm":
            try:
                appointment = actions.check_confirm(
                    by=by, booking=booking, reason=form.cleaned_data["reason"]
                )
            except actions.SlotTaken as refused:
                form.add_error(None, refused.message)
                taken = actions.next_open_times(booking)
            except Refused as refused:
                form.add_error(None, refused.message)
            else:
                messages.success(request, "Your appointment is booked. We sent you an e-mail.")
                return redirect("appointments:detail", appointment.pk)
        else:
            step = "review"
    schedule = schedule_of(booking.team)
    context = {
        "booking": booking,
        "local": selectors.local_slot(booking.slot, schedule),
        "schedule": schedule,
        "form": form,
        "step": step if not form.errors else "reason",
        "taken": [(slot, selectors.local_slot(slot, schedule)) for slot in taken],
        "user": user,
    }
    return render(
        request, "appointments/confirm.html", context, status=409 if taken else 400 if form.errors else 200
    )


@login_required
def detail(request: HttpRequest, appointment_id: int) -> HttpResponse:
    by = actor_of(request)
    appointment = access_appointment(by.user, appointment_id)
    context = {
        "shown": selectors.shown(by, appointment),
        "may_change": actions.may_change(by, appointment),
        "may_move": actions.may_move(by, appointment),
    }
    return render(request, "appointments/detail.html", context)


@login_required
def calendar(request: HttpRequest, appointment_id: int) -> HttpResponse:
    by = actor_of(request)
    appointment = access_appointment(by.user, appointment_id)
    audit_event(
        "appointments.calendar_downloaded",
        by=by,
        patient_id=appointment.patient_id,
        object_type="appointment",
        object_id=appointment.pk,
    )
    cancelled = appointment.status in ("cancelled", "moved")
    body = calendar_file(appointment, schedule_of(appointment.care_team), cancelled=cancelled)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    by = actor_of(request)
    appointment = access_appointment(by.user, appointment_id)
    error = ""
    if request.method == "POST":
        try:
            actions.check_cancel(by=by, appointment_id=appointment.pk)
        except Refused as refused:
            error = refused.message
        else:
            messages.success(request, "Your appointment is cancelled. We sent you an e-mail.")
            return redirect("appointments:detail", appointment.pk)
    context = {
        "shown": selectors.shown(by, appointment),
        "may_change": actions.may_change(by, appointment),
        "error": error,
        "phone": schedule_of(appointment.care_team).phone,
    }
    return render(request, "appointments/cancel.html", context, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, appointment_id: int) -> HttpResponse:
    by = actor_of(request)
    appointment = access_appointment(by.user, appointment_id)
    error = ""
    if request.method == "POST":
        slot_raw = request.POST.get("slot", "")
        if not slot_raw.isdigit():
            error = "Choose a new time."
        else:
            try:
                new = actions.check_reschedule(by=by, appointment_id=appointment.pk, slot_id=int(slot_raw))
            except Refused as refused:
                error = refused.message
            else:
                messages.success(request, "Your appointment has moved. We sent you an e-mail.")
                return redirect("appointments:detail", new.pk)
    weekday, part = _filters(request)
    schedule, days = selectors.slot_days(
        appointment.care_team, appointment.appointment_type, weekday=weekday, part=part
    )
    context = {
        "shown": selectors.shown(by, appointment),
        "may_change": actions.may_change(by, appointment),
        "may_move": actions.may_move(by, appointment),
        "days": days,
        "error": error,
        "weekday": weekday,
        "weekdays": WEEKDAYS,
        "part": part,
        "schedule": schedule,
    }
    return render(request, "appointments/reschedule.html", context, status=400 if error else 200)


@login_required
@require_POST
def preferences(request: HttpRequest, appointment_id: int) -> HttpResponse:
    by = actor_of(request)
    try:
        actions.check_set_preferences(
            by=by,
            appointment_id=appointment_id,
            reminders=request.POST.get("reminders") == "on",
            waitlist=request.POST.get("waitlist") == "on",
        )
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, "Saved.")
    return redirect("appointments:detail", appointment_id)


@login_required
@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest, offer_id: int) -> HttpResponse:
    by = actor_of(request)
    found = access_offer(by.user, offer_id)
    error = ""
    if request.method == "POST":
        try:
            new = actions.check_take_offer(by=by, offer_id=found.pk)
        except Refused as refused:
            error = refused.message
        else:
            messages.success(request, "Your appointment has moved to the earlier time.")
            return redirect("appointments:detail", new.pk)
    context = {"offer": found, "local": selectors.local_slot(found.slot), "error": error}
    return render(request, "appointments/offer.html", context, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def request_visit(request: HttpRequest, team_id: int, type_id: int) -> HttpResponse:
    user = _patient(request)
    team = patient_team(user, team_id)
    kind = team_type(user, team, type_id)
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        wanted = [
            actions.Preference(data[f"day_{n}"], data[f"part_{n}"] or "morning")
            for n in (1, 2, 3)
            if data[f"day_{n}"]
        ]
        try:
            actions.check_request(
                by=actor_of(request),
                team_id=team.pk,
                type_id=kind.pk,
                preferences=wanted,
                reason=data["reason"],
            )
        except Refused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            messages.success(
                request, "Your request is sent. The clinic will book a time or tell you why not."
            )
            return redirect(reverse("appointments:list") + "#requests")
    context = {"team": team, "kind": kind, "form": form, "schedule": schedule_of(team)}
    return render(request, "appointments/request.html", context, status=400 if form.errors else 200)
