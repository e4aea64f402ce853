"""Medications' pages: thin views that parse, call a door, an action or a selector, render."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from portal.clinics.access import patient_of, staff_of
from portal.core.acting import Refused, actor_of, audit_event
from portal.medications import actions, fhir, selectors
from portal.medications.access import access_prescription, access_queue_request, access_renewal
from portal.medications.forms import RefillForm, RefuseForm, RenewalAnswerForm, RenewalForm, ShipForm
from portal.medications.models import RenewalRequest
from portal.vault.crypto import keyring
from portal.vault.reading import read_sealed

# -- the patient's pages -----------------------------------------------------------------------

FIRST_PAGE = 10  # prescriptions on a list's first page; "Show all" shows the rest


def _list_page(
    request: HttpRequest,
    *,
    tab: str,
    form: RefillForm | None = None,
    meds: selectors.MedicationList | None = None,
    status: int = 200,
) -> HttpResponse:
    by = actor_of(request)
    patient = patient_of(by.user)
    # The newest first; "Show all" (or a form sent back with what was chosen) shows every one.
    everything = form is not None or request.GET.get("all") == "1"
    if meds is None:
        meds = selectors.medications_of(by, patient.pk, only=tab, limit=None if everything else FIRST_PAGE)
    refillable = [row.pk for row in meds.active if row.answer.eligible]
    form = form or RefillForm(refillable=refillable, initial={"delivery": "pickup"})
    context = {
        "meds": meds,
        "tab": tab,
        "current": tab,
        "form": form,
        "chosen": _chosen(form),
    }
    return render(request, "medications/list.html", context, status=status)


def _chosen(form: RefillForm) -> set[int]:
    """The prescriptions ticked in the form as sent (kept on a page that says what is wrong)."""
    return {int(value) for value in form["prescriptions"].value() or [] if str(value).isdigit()}


@login_required
def medication_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, tab="active")


@login_required
def past_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, tab="past")


@login_required
@require_POST
def request_refills(request: HttpRequest) -> HttpResponse:
    by = actor_of(request)
    patient = patient_of(by.user)
    meds = selectors.medications_of(by, patient.pk, only="active")
    refillable = [row.pk for row in meds.active if row.answer.eligible]
    # Every active prescription is a choice here: one that cannot be refilled is answered with its reason.
    form = RefillForm(request.POST, refillable=[row.pk for row in meds.active])
    if not form.is_valid():
        form.set_refillable(refillable)
        return _list_page(request, tab="active", form=form, meds=meds, status=400)
    try:
        outcomes = actions.check_request_refills(
            by=by,
            prescription_ids=form.cleaned_data["prescriptions"],
            delivery=form.cleaned_data["delivery"],
            pharmacy_id=form.cleaned_data["pharmacy"],
        )
    except Refused as refused:
        form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        return _list_page(request, tab="active", form=form, meds=meds, status=400)
    names = {row.pk: row.name for row in meds.active}
    results = [(names.get(o.prescription_id, ""), o) for o in outcomes]
    return render(request, "medications/refill_result.html", {"results": results, "current": "active"})


@login_required
def refill_requests(request: HttpRequest) -> HttpResponse:
    by = actor_of(request)
    patient = patient_of(by.user)
    rows = selectors.refill_requests_of(by, patient.pk, late_days=settings.PORTAL_REFILL_LATE_DAYS)
    renewals = selectors.renewals_of(by, patient.pk)
    return render(
        request, "medications/requests.html", {"rows": rows, "renewals": renewals, "current": "requests"}
    )


@login_required
@require_http_methods(["GET", "POST"])
def request_renewal(request: HttpRequest, prescription_id: int) -> HttpResponse:
    by = actor_of(request)
    patient_of(by.user)
    rx = access_prescription(by.user, prescription_id)
    form = RenewalForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.check_request_renewal(by=by, prescription_id=rx.pk, note=form.cleaned_data["note"])
        except Refused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            return redirect(reverse("medications:requests") + "#renewals")
    name = read_sealed(keyring(rx.patient_id), rx, "name")
    status = 400 if form.errors else 200
    context = {"rx": rx, "name": name, "form": form, "team": selectors.renewal_team(rx)}
    return render(request, "medications/renew.html", context, status=status)


# -- the pharmacy's pages ----------------------------------------------------------------------


@login_required
def queue(request: HttpRequest, pharmacy_id: int) -> HttpResponse:
    by = actor_of(request)
    staff_of(by.user)
    page = selectors.pharmacy_queue(by, pharmacy_id, status=request.GET.get("status", "submitted"))
    tabs = [(state, label, page.counts[state]) for state, label in selectors.QUEUE_LABELS.items()]
    return render(request, "medications/queue.html", {"queue": page, "tabs": tabs})


def _request_page(request: HttpRequest, request_id: int, **forms: Any) -> HttpResponse:
    by = actor_of(request)
    refill = access_queue_request(by.user, request_id)
    ring = keyring(refill.patient_id)
    audit_event(
        "medications.refill_viewed",
        by=by,
        patient_id=refill.patient_id,
        object_type="refill_request",
        object_id=refill.pk,
    )
    context = {
        "refill": refill,
        "name": read_sealed(ring, refill.prescription, "name"),
        "instructions": read_sealed(ring, refill.prescription, "instructions"),
        "next_states": actions.next_states(refill),
        "ship_form": forms.get("ship_form") or ShipForm(),
        "refuse_form": forms.get("refuse_form") or RefuseForm(),
        "error": forms.get("error", ""),
        "fill": getattr(refill, "fill", None),
    }
    return render(request, "medications/queue_request.html", context, status=400 if forms else 200)


@login_required
@require_http_methods(["GET", "POST"])
def queue_request(request: HttpRequest, request_id: int) -> HttpResponse:
    by = actor_of(request)
    staff_of(by.user)
    if request.method == "GET":
        return _request_page(request, request_id)
    to = request.POST.get("to", "")
    try:
        if to == "refused":
            refuse_form = RefuseForm(request.POST)
            if not refuse_form.is_valid():
                access_queue_request(by.user, request_id)
                return _request_page(request, request_id, refuse_form=refuse_form)
            refill = actions.check_refuse_request(
                by=by, request_id=request_id, reason=refuse_form.cleaned_data["reason"]
            )
        elif to == "shipped":
            ship_form = ShipForm(request.POST)
            if not ship_form.is_valid():
                access_queue_request(by.user, request_id)
                return _request_page(request, request_id, ship_form=ship_form)
            shipping = actions.Shipping(**ship_form.cleaned_data)
            refill = actions.check_move_request(by=by, request_id=request_id, to=to, shipping=shipping)
        else:
            refill = actions.check_move_request(by=by, request_id=request_id, to=to)
    except Refused as refused:
        return _request_page(request, request_id, error=refused.message)
    return redirect(reverse("pharmacy:queue", args=[refill.pharmacy_id]) + f"?status={refill.status}")


@login_required
def dispense_fhir(request: HttpRequest, request_id: int) -> HttpResponse:
    """The dispensing of a refill request as a FHIR MedicationDispense (404 before it is dispensed)."""
    by = actor_of(request)
    staff_of(by.user)
    refill = access_queue_request(by.user, request_id)
    resource = fhir.dispense_of(refill)
    audit_event(
        "medications.dispense_exported",
        by=by,
        patient_id=refill.patient_id,
        object_type="refill_request",
        object_id=refill.pk,
    )
    return HttpResponse(json.dumps(resource, indent=2), content_type="application/fhir+json")


@login_required
@require_http_methods(["GET", "POST"])
def answer_renewal(request: HttpRequest, renewal_id: int) -> HttpResponse:
    by = actor_of(request)
    staff_of(by.user)
    renewal = access_renewal(by.user, renewal_id)
    form = RenewalAnswerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            renewal = actions.check_answer_renewal(
                by=by, renewal_id=renewal.pk, answer=form.cleaned_data["answer"]
            )
        except Refused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            return redirect(reverse("medications_staff:renewal", args=[renewal.pk]))
    audit_event(
        "medications.renewal_viewed",
        by=by,
        patient_id=renewal.patient_id,
        object_type="renewal_request",
        object_id=renewal.pk,
    )
    context = {
        "renewal": renewal,
        "name": read_sealed(keyring(renewal.patient_id), renewal.prescription, "name"),
        "form": form,
        "open": renewal.status == RenewalRequest.Status.OPEN,
    }
    return render(request, "medications/renewal.html", context, status=400 if form.errors else 200)
