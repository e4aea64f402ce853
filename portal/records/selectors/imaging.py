"""Radiology: imaging reports (RAD DiagnosticReports) and imaging studies, with which study has a report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.core.acting import Actor
from portal.records.models import Record
from portal.records.selectors.notes import decoded_text
from portal.records.selectors.reading import EVERYTHING, Opened, Period, first, open_record, words

MODALITIES = {
    "CT": "CT scan",
    "MR": "MRI",
    "US": "Ultrasound",
    "DX": "X-ray",
    "CR": "X-ray",
    "XC": "Photograph",
    "IO": "Dental X-ray",
    "OP": "Eye photograph",
    "OPT": "Eye scan (OCT)",
    "NM": "Nuclear medicine scan",
    "PT": "PET scan",
    "MG": "Mammogram",
    "ECG": "Heart tracing (ECG)",
}


@dataclass(frozen=True)
class Report:
    id: int
    name: str
    at: datetime | None
    conclusion: str
    findings: str
    performer: str


@dataclass(frozen=True)
class Study:
    id: int
    name: str
    at: datetime | None
    modality: str
    body_site: str
    series_count: int | None
    has_report: bool


@dataclass(frozen=True)
class Imaging:
    reports: list[Report]
    studies: list[Study]


def imaging_of(by: Actor, patient_id: int) -> Imaging:
    """Every imaging report and study of the patient, newest first, in two queries. A study
    whose report is still held from the patient says its report is not available yet."""
    opened = open_record(by, patient_id, page="imaging")
    return imaging_in(opened)


def imaging_in(opened: Opened, period: Period = EVERYTHING) -> Imaging:
    """The imaging reports and studies dated in `period` (all of them for everything), newest first."""
    studies_query = Record.objects.filter(patient=opened.patient, kind=Record.Kind.IMAGING_STUDY)
    reports_query = Record.objects.filter(
        patient=opened.patient, kind=Record.Kind.DIAGNOSTIC_REPORT, category="RAD"
    )
    rows = list(
        period.within(opened.readable(studies_query)).union(period.within(opened.readable(reports_query)))
    )
    rows.sort(key=lambda r: (r.effective_at is not None, r.effective_at, r.pk), reverse=True)
    performers = {
        r.performer_id: r.performer.name
        for r in Record.objects.filter(pk__in=[r.pk for r in rows], performer__isnull=False).select_related(
            "performer"
        )
        if r.performer is not None
    }
    reports, reported = [], set()
    for row in (r for r in rows if r.kind == Record.Kind.DIAGNOSTIC_REPORT):
        resource = opened.resource(row)
        for study in resource.get("imagingStudy") or []:
            if isinstance(study, dict):
                reported.add(str(study.get("reference", "")).rpartition("/")[2])
        findings = decoded_text(resource) or ""
        reports.append(
            Report(
                row.pk,
                opened.title(row),
                row.effective_at,
                str(resource.get("conclusion") or words(first(resource.get("conclusionCode"))) or ""),
                findings,
                performers.get(row.performer_id, ""),
            )
        )
    studies = []
    for row in (r for r in rows if r.kind == Record.Kind.IMAGING_STUDY):
        resource = opened.resource(row)
        series = first(resource.get("series")) or {}
        site = series.get("bodySite") if isinstance(series, dict) else None
        body_site = (site.get("display") or site.get("code") or "") if isinstance(site, dict) else ""
        studies.append(
            Study(
                row.pk,
                opened.title(row),
                row.effective_at,
                MODALITIES.get(row.category, row.category or "Not given"),
                str(body_site),
                row.series_count,
                row.fhir_id in reported,
            )
        )
    return Imaging(reports, studies)
