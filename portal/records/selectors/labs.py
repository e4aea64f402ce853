"""Lab results: panels (LAB DiagnosticReports) with their results, one panel, and a test's trend.

Values, units, ranges and flags are plain columns (`Measurement`); the words naming a
test are the sealed title of its Observation, or of the component in its sealed JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from portal.core.acting import Actor, refuse
from portal.core.paging import Cursor, Page, keyset
from portal.records.access import access_lab_report, access_record_patient
from portal.records.models import Measurement, Record
from portal.records.selectors.reading import Opened, Period, belongs, open_record, words

PANELS_PER_PAGE = 10
FLAGS = {
    "H": "High",
    "HU": "High",
    "L": "Low",
    "LU": "Low",
    "HH": "Critical high",
    "LL": "Critical low",
    "A": "Abnormal",
    "AA": "Critical abnormal",
    "POS": "Abnormal",
    "DET": "Abnormal",
}
CODED = {"true": "Yes", "false": "No"}


def flag_of(row: Measurement) -> str:
    """The out-of-range flag in words ("" when in range or not said)."""
    if row.interpretation:
        return FLAGS.get(row.interpretation.upper(), "")
    if row.value is not None and row.high is not None and row.value > row.high:
        return "High"
    if row.value is not None and row.low is not None and row.value < row.low:
        return "Low"
    return ""


def number(value: float) -> str:
    return f"{value:g}"


def range_of(row: Measurement) -> str:
    unit = f" {row.unit}" if row.unit else ""
    if row.low is not None and row.high is not None:
        return f"{number(row.low)}–{number(row.high)}{unit}"
    if row.high is not None:
        return f"Up to {number(row.high)}{unit}"
    if row.low is not None:
        return f"{number(row.low)} or more{unit}"
    return "No reference range given"


@dataclass(frozen=True)
class Value:
    name: str
    value: str
    range: str
    flag: str
    code: str  # the LOINC code of a numeric value, for its trend ("" otherwise)


@dataclass(frozen=True)
class Result:
    id: int
    name: str
    values: list[Value]


@dataclass(frozen=True)
class Panel:
    id: int
    name: str
    at: datetime | None
    results: list[Result] = field(default_factory=list)

    @property
    def flagged(self) -> int:
        return sum(1 for r in self.results for v in r.values if v.flag)


def _values(opened: Opened, result: Record, rows: list[Measurement], *, detail: bool) -> list[Value]:
    title = opened.title(result)
    resource = opened.resource(result) if detail else {}
    components = [c for c in resource.get("component") or [] if isinstance(c, dict)]
    found = []
    for row in sorted(rows, key=lambda m: m.position):
        name = title
        concept = resource if row.position == 0 else None
        if row.position and row.position <= len(components):
            concept = components[row.position - 1]
            name = words(concept.get("code")) or title
        if row.value is not None:
            shown = f"{number(row.value)} {row.unit}".strip()
        else:
            coded = words((concept or {}).get("valueCodeableConcept"))
            shown = coded or CODED.get(row.value_code, row.value_code) or "No value given"
        code = row.code if row.value is not None and row.code_system == "http://loinc.org" else ""
        found.append(Value(name, shown, range_of(row), flag_of(row), code))
    return found or [Value(title, "No value given", "No reference range given", "", "")]


def _results(opened: Opened, report_ids: list[int], *, detail: bool) -> dict[int, list[Result]]:
    query = Record.objects.filter(
        patient=opened.patient, kind=Record.Kind.OBSERVATION, report_id__in=report_ids
    )
    if not detail:
        query = query.defer("resource")
    results: dict[int, list[Result]] = {pk: [] for pk in report_ids}
    for result in query.prefetch_related("measurements").order_by("pk"):
        assert result.report_id is not None
        values = _values(opened, result, list(result.measurements.all()), detail=detail)
        results[result.report_id].append(Result(result.pk, opened.title(result), values))
    return results


def panels_of(by: Actor, patient_id: int, *, cursor: Cursor | None) -> Page[Panel]:
    """One page of lab panels, newest first, each with its results: a fixed number of queries."""
    opened = open_record(by, patient_id, page="labs")
    query = Record.objects.filter(
        patient=opened.patient, kind=Record.Kind.DIAGNOSTIC_REPORT, category="LAB", effective_at__isnull=False
    ).defer("resource")
    rows, next_cursor = keyset(query, cursor, field="effective_at", size=PANELS_PER_PAGE)
    results = _results(opened, [r.pk for r in rows], detail=False)
    return Page([Panel(r.pk, opened.title(r), r.effective_at, results[r.pk]) for r in rows], next_cursor)


def panels_in(opened: Opened, period: Period) -> list[Panel]:
    """Every lab panel dated in `period`, newest first, each result with its full detail."""
    query = Record.objects.filter(
        patient=opened.patient, kind=Record.Kind.DIAGNOSTIC_REPORT, category="LAB"
    ).defer("resource")
    rows = list(period.within(query).order_by("-effective_at", "-pk"))
    results = _results(opened, [r.pk for r in rows], detail=True)
    return [Panel(r.pk, opened.title(r), r.effective_at, results[r.pk]) for r in rows]


def loose_results_in(opened: Opened, period: Period) -> list[Panel]:
    """Laboratory results that no panel gathers, dated in `period`, newest first: each one
    shown as a panel of its own (its name, its date and its values)."""
    query = Record.objects.filter(
        patient=opened.patient, kind=Record.Kind.OBSERVATION, category="laboratory", report__isnull=True
    )
    rows = list(period.within(query).prefetch_related("measurements").order_by("-effective_at", "-pk"))
    found = []
    for row in rows:
        values = _values(opened, row, list(row.measurements.all()), detail=True)
        found.append(
            Panel(row.pk, opened.title(row), row.effective_at, [Result(row.pk, values[0].name, values)])
        )
    return found


def panel_of(by: Actor, patient_id: int, report_id: int) -> Panel:
    found = access_lab_report(by.user, report_id)
    opened = open_record(by, patient_id, page="lab_panel", object_type="lab_report", object_id=report_id)
    belongs(by, found, opened.patient, "lab_report")
    results = _results(opened, [found.pk], detail=True)[found.pk]
    return Panel(found.pk, opened.title(found), found.effective_at, results)


@dataclass(frozen=True)
class Point:
    at: datetime | None
    value: float
    shown: str
    flag: str
    x: float = 0
    y: float = 0


@dataclass(frozen=True)
class Trend:
    code: str
    name: str
    unit: str
    points: list[Point]
    low: float | None
    high: float | None

    @property
    def summary(self) -> str:
        """What the chart shows, in words (its aria-label)."""
        first, last = self.points[0], self.points[-1]
        years = f"{first.at:%Y} to {last.at:%Y}" if first.at and last.at else "over time"
        count = f"{len(self.points)} result{'s' if len(self.points) != 1 else ''}"
        return f"{self.name}, {count} from {years}, latest {last.shown}"


def trend_values(by: Actor, patient_id: int, code: str) -> Trend:
    """A test's numeric values over time, oldest first; 404 (refused) for a code she has no value of."""
    patient = access_record_patient(by.user, patient_id)
    rows = list(
        Measurement.objects.filter(
            patient=patient, code=code, value__isnull=False, effective_at__isnull=False
        )
        .select_related("record")
        .order_by("effective_at", "pk")
    )
    if not rows:
        raise refuse(by.user, "lab_trend", code)
    opened = open_record(by, patient_id, page="lab_trend", object_type="lab_trend", object_id=code)
    latest = rows[-1]
    name = _values(opened, latest.record, [latest], detail=True)[0].name
    points = [
        Point(r.effective_at, r.value or 0.0, f"{number(r.value or 0.0)} {r.unit}".strip(), flag_of(r))
        for r in rows
    ]
    return Trend(code, name, latest.unit, points, latest.low, latest.high)


@dataclass(frozen=True)
class Chart:
    """A line chart's geometry, in the SVG's own units (the template only draws it)."""

    width: int
    height: int
    points: list[Point]
    line: str
    band: tuple[float, float] | None  # the reference band's top y and height
    ticks: list[tuple[float, str]]  # y and label of the value axis
    first: str
    last: str


def chart_of(trend: Trend, *, width: int = 640, height: int = 260) -> Chart:
    left, right, top, bottom = 64, 16, 16, 36
    values = [p.value for p in trend.points]
    values += [v for v in (trend.low, trend.high) if v is not None]
    lowest, highest = min(values), max(values)
    margin = (highest - lowest) * 0.1 or abs(highest) * 0.1 or 1.0
    lowest, highest = lowest - margin, highest + margin
    times = [p.at.timestamp() if p.at else 0.0 for p in trend.points]
    start, span = times[0], (times[-1] - times[0]) or 1.0

    def x(moment: float) -> float:
        inner = width - left - right
        return round(left + (inner / 2 if len(times) == 1 else (moment - start) / span * inner), 1)

    def y(value: float) -> float:
        return round(top + (highest - value) / (highest - lowest) * (height - top - bottom), 1)

    placed = [
        Point(p.at, p.value, p.shown, p.flag, x(t), y(p.value))
        for p, t in zip(trend.points, times, strict=True)
    ]
    band = None
    if trend.low is not None or trend.high is not None:
        upper = y(trend.high if trend.high is not None else highest)
        band = (upper, round(y(trend.low if trend.low is not None else lowest) - upper, 1))
    ticks = [(y(v), number(round(v, 2))) for v in (lowest + margin, (lowest + highest) / 2, highest - margin)]
    first, last = trend.points[0].at, trend.points[-1].at
    return Chart(
        width,
        height,
        placed,
        " ".join(f"{p.x},{p.y}" for p in placed),
        band,
        ticks,
        f"{first:%b %Y}" if first else "",
        f"{last:%b %Y}" if last else "",
    )
