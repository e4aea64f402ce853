"""The health record's pages: thin views over the selectors, for the patient and for staff.

One set of views serves both: `/record/...` is the signed-in patient's own record, and
`/staff/patients/<patient_id>/record/...` the same pages for a staff member who may see
that patient (their care teams' patients, or a break-glass grant). Every id goes through a
door; every read is audited by its selector.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from portal.clinics.access import patient_of, staff_of
from portal.core.acting import Actor, actor_of
from portal.core.paging import Cursor
from portal.records.access import access_record_patient
from portal.records.selectors import access_log as access_log_page
from portal.records.selectors import imaging as imaging_pages
from portal.records.selectors import labs as lab_pages
from portal.records.selectors import notes as note_pages
from portal.records.selectors import summary as summary_page

# MedlinePlus Connect answers "what is this test?" by LOINC code (a code only; no value, no name).
MEDLINEPLUS = "https://connect.medlineplus.gov/application?"


def _whose(request: HttpRequest, patient_id: int | None) -> tuple[Actor, int, dict[str, Any]]:
    """The acting user, whose record they read, and what every page's template needs."""
    by = actor_of(request)
    if patient_id is None:
        patient = patient_of(by.user)
        base = reverse("record:summary")
        return by, patient.pk, {"base": base, "for_staff": False, "record_patient": patient}
    staff_of(by.user)
    patient = access_record_patient(by.user, patient_id)
    base = reverse("staff_record:summary", kwargs={"patient_id": patient_id})
    return by, patient_id, {"base": base, "for_staff": True, "record_patient": patient}


def _render(request: HttpRequest, template: str, context: dict[str, Any], **more: Any) -> HttpResponse:
    return render(request, f"records/{template}", {**context, **more})


@login_required
def summary(request: HttpRequest, patient_id: int | None = None) -> HttpResponse:
    by, pid, context = _whose(request, patient_id)
    found = summary_page.summary_of(by, pid)
    return _render(request, "summary.html", context, summary=found, current="summary")


@login_required
def notes(request: HttpRequest, patient_id: int | None = None) -> HttpResponse:
    by, pid, context = _whose(request, patient_id)
    page = note_pages.notes_of(by, pid, cursor=Cursor.decode(request.GET.get("after")))
    return _render(request, "notes.html", context, page=page, current="notes")


@login_required
def note(request: HttpRequest, note_id: int, patient_id: int | None = None) -> HttpResponse:
    by, pid, context = _whose(request, patient_id)
    found = note_pages.note_of(by, pid, note_id)
    return _render(request, "note.html", context, note=found, current="notes")


@login_required
def labs(request: HttpRequest, patient_id: int | None = None) -> HttpResponse:
    by, pid, context = _whose(request, patient_id)
    page = lab_pages.panels_of(by, pid, cursor=Cursor.decode(request.GET.get("after")))
    return _render(request, "labs.html", context, page=page, current="labs")


@login_required
def lab_panel(request: HttpRequest, report_id: int, patient_id: int | None = None) -> HttpResponse:
    by, pid, context = _whose(request, patient_id)
    panel = lab_pages.panel_of(by, pid, report_id)
    return _render(request, "lab_panel.html", context, panel=panel, current="labs")


@login_required
def lab_trend(request: HttpRequest, code: str, patient_id: int | None = None) -> HttpResponse:
    by, pid, context = _whose(request, patient_id)
    trend = lab_pages.trend_values(by, pid, code)
    medline = MEDLINEPLUS + urlencode(
        {
            "mainSearchCriteria.v.cs": "2.16.840.1.113883.6.1",
            "mainSearchCriteria.v.c": code,
            "informationRecipient.languageCode.c": "en",
        }
    )
    charts = {
        "wide": lab_pages.chart_of(trend, **lab_pages.WIDE),
        "narrow": lab_pages.chart_of(trend, **lab_pages.NARROW),
    }
    return _render(
        request, "lab_trend.html", context, trend=trend, charts=charts, medline=medline, current="labs"
    )


@login_required
def imaging(request: HttpRequest, patient_id: int | None = None) -> HttpResponse:
    by, pid, context = _whose(request, patient_id)
    found = imaging_pages.imaging_of(by, pid)
    return _render(request, "imaging.html", context, imaging=found, current="imaging")


@login_required
def access_log(request: HttpRequest) -> HttpResponse:
    """Who has seen my record: the patient's own page (staff get 404, as the URL is not theirs)."""
    by, _, context = _whose(request, None)
    others_only = request.GET.get("who") == "others"
    page = access_log_page.access_log_of(
        by, cursor=Cursor.decode(request.GET.get("after")), others_only=others_only
    )
    return _render(
        request, "access_log.html", context, page=page, others_only=others_only, current="access_log"
    )
