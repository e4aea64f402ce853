"""Lab results: panels (LAB DiagnosticReports) with their results, one panel, and a test's trend.

Values, units, ranges and flags are plain columns (`Measurement`); the words naming a
test are the sealed title of its Observation, or of the component in its sealed JSON.
A page's results and their values are read as plain rows (one query joining each result
to its values, no model instances: a page of ten panels holds about fifty results and a
hundred values), and each title is opened once.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from django.db import connection
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from portal.core.acting import Actor, refuse
from portal.core.paging import Cursor, Page, keyset
from portal.records.access import access_lab_report, access_record_patient
from portal.records.models import Measurement, Record
from portal.records.release import held_results_sql, readable_by
from portal.records.selectors.reading import Json, Opened, Period, belongs, open_record, words
from portal.vault.crypto import Binding
from portal.vault.reading import UNREADABLE, read_sealed_value

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


class Flaggable(Protocol):
    """What a flag is decided from: a `Reading`, or only these columns of one."""

    @property
    def value(self) -> float | None: ...
    @property
    def low(self) -> float | None: ...
    @property
    def high(self) -> float | None: ...
    @property
    def interpretation(self) -> str: ...


class Reading(Flaggable, Protocol):
    """One value of a result, as a `Measurement` row or its columns read without the model."""

    @property
    def position(self) -> int: ...
    @property
    def code_system(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def value_code(self) -> str: ...


@dataclass(frozen=True)
class Values:
    """A `Measurement`'s columns that a page shows, read as a plain row."""

    position: int
    code_system: str
    code: str
    value: float | None
    unit: str
    value_code: str
    low: float | None
    high: float | None
    interpretation: str

    COLUMNS = (
        "position", "code_system", "code", "value", "unit", "value_code", "low", "high", "interpretation",
    )  # fmt: skip


def flag_of(row: Flaggable) -> str:
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


def range_of(row: Reading) -> str:
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

    @property
    def flags(self) -> str:
        """Its values' flags in words, as the list of panels shows them after its name."""
        return ", ".join(v.flag for v in self.values if v.flag)


@dataclass(frozen=True)
class Panel:
    id: int
    name: str
    at: datetime | None
    results: list[Result] = field(default_factory=list)

    @property
    def flagged(self) -> int:
        return sum(1 for r in self.results for v in r.values if v.flag)

    @property
    def counted(self) -> str:
        return f"{len(self.results)} result{'' if len(self.results) == 1 else 's'}"

    @property
    def lines(self) -> list[str]:
        """Each result's name with its flags in words, as the list of panels shows them."""
        return [f"{r.name} ({r.flags})" if r.flags else r.name for r in self.results]

    @property
    def items(self) -> SafeString:
        """`lines` as list items, each escaped (one template variable for a panel's results)."""
        return format_html_join("", "<li>{}</li>", ((line,) for line in self.lines))


def _values(title: str, resource: Json, rows: list[Reading]) -> list[Value]:
    """Each value of a result in words; `resource` (the Observation's JSON, or {}) names components."""
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


def _opened(opened: Opened, row_key: Any, field: str, sealed: bytes) -> str:
    binding = Binding(table=Record._meta.db_table, row=str(row_key), field=field)
    return read_sealed_value(opened.ring, binding, sealed)


def _results(opened: Opened, report_ids: list[int]) -> dict[int, list[Result]]:
    """The results of these panels with their values: one query of plain rows (each result
    joined to its values), each title opened once.

    Each result's JSON is opened too: it names a blood pressure's components."""
    if not report_ids:
        return {}
    sealed = ["title", "resource"]
    values = [f"measurements__{name}" for name in Values.COLUMNS]
    rows = (
        opened.readable(
            Record.objects.filter(
                patient=opened.patient, kind=Record.Kind.OBSERVATION, report_id__in=report_ids
            )
        )
        .order_by("pk", "measurements__position")
        .values_list("pk", "report_id", "row_key", *sealed, *values)
    )
    found: dict[int, tuple[int, str, Json]] = {}  # result id -> (panel id, title, JSON or {})
    readings: dict[int, list[Reading]] = defaultdict(list)
    for pk, report_id, row_key, *columns in rows:
        if pk not in found:
            title = _opened(opened, row_key, "title", columns[0])
            found[pk] = (report_id, title, _json(_opened(opened, row_key, "resource", columns[1])))
        reading = columns[len(sealed) :]
        if reading[0] is not None:  # a result without values joins none
            readings[pk].append(Values(*reading))
    results: dict[int, list[Result]] = {pk: [] for pk in report_ids}
    for pk, (report_id, title, resource) in found.items():
        results[report_id].append(Result(pk, title, _values(title, resource, readings[pk])))
    return results


class _Flagged(NamedTuple):
    """What a flag needs of a value (a `Reading`'s columns for `flag_of`)."""

    value: float | None
    low: float | None
    high: float | None
    interpretation: str


def _names_and_flags(opened: Opened, report_ids: list[int]) -> dict[int, list[Result]]:
    """The list of panels shows each result's name and its flags in words: only the columns
    a flag needs are read, and no value is put in words.

    One statement written out, not built by the ORM: building and compiling the query cost
    three times what running it does, on the page the portal's records are read most."""
    if not report_ids:
        return {}
    held, held_params = held_results_sql(opened.reader, opened.now, alias="r")
    # Table names and placeholders only: every value is a parameter.
    tables = f"{Record._meta.db_table} r LEFT JOIN {Measurement._meta.db_table} m ON m.record_id = r.id"
    reports = ", ".join(["%s"] * len(report_ids))
    columns = "r.id, r.report_id, r.row_key, r.title, m.value, m.low, m.high, m.interpretation"
    where = f"r.patient_id = %s AND r.kind = %s AND r.report_id IN ({reports}){held}"
    sql = f"SELECT {columns} FROM {tables} WHERE {where} ORDER BY r.id, m.position"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [opened.patient.pk, Record.Kind.OBSERVATION, *report_ids, *held_params])
        rows = cursor.fetchall()
    results: dict[int, list[Result]] = {pk: [] for pk in report_ids}
    current: Result | None = None
    for pk, report_id, row_key, title, value, low, high, interpretation in rows:
        if current is None or current.id != pk:
            key = row_key if isinstance(row_key, uuid.UUID) else uuid.UUID(row_key)  # SQLite: hex text
            current = Result(pk, _opened(opened, key, "title", bytes(title)), [])
            results[report_id].append(current)
        if value is not None or interpretation is not None:
            flagged = _Flagged(value, low, high, interpretation or "")
            current.values.append(Value(current.name, "", "", flag_of(flagged), ""))
    for found in results.values():
        for result in found:
            if not result.values:
                result.values.append(Value(result.name, "No value given", "", "", ""))
    return results


def _json(text: str) -> Json:
    found = json.loads(text) if text != UNREADABLE else {}
    return found if isinstance(found, dict) else {}


def panels_of(by: Actor, patient_id: int, *, cursor: Cursor | None) -> Page[Panel]:
    """One page of lab panels, newest first, each with its results: a fixed number of queries."""
    opened = open_record(by, patient_id, page="labs")
    query = Record.objects.filter(
        patient=opened.patient, kind=Record.Kind.DIAGNOSTIC_REPORT, category="LAB", effective_at__isnull=False
    )
    # Plain named rows, not model instances: the page needs four columns of ten panels.
    plain = opened.readable(query).values_list("pk", "row_key", "title", "effective_at", named=True)
    rows, next_cursor = keyset(plain, cursor, field="effective_at", size=PANELS_PER_PAGE)
    results = _names_and_flags(opened, [r.pk for r in rows])
    panels = [
        Panel(r.pk, _opened(opened, r.row_key, "title", bytes(r.title)), r.effective_at, results[r.pk])
        for r in rows
    ]
    return Page(panels, next_cursor)


def panels_in(opened: Opened, period: Period) -> list[Panel]:
    """Every lab panel dated in `period`, newest first, each result with its full detail."""
    query = Record.objects.filter(
        patient=opened.patient, kind=Record.Kind.DIAGNOSTIC_REPORT, category="LAB"
    ).defer("resource")
    rows = list(period.within(opened.readable(query)).order_by("-effective_at", "-pk"))
    results = _results(opened, [r.pk for r in rows])
    return [Panel(r.pk, opened.title(r), r.effective_at, results[r.pk]) for r in rows]


def loose_results_in(opened: Opened, period: Period) -> list[Panel]:
    """Laboratory results that no panel gathers, dated in `period`, newest first: each one
    shown as a panel of its own (its name, its date and its values)."""
    query = Record.objects.filter(
        patient=opened.patient, kind=Record.Kind.OBSERVATION, category="laboratory", report__isnull=True
    )
    rows = list(
        period.within(opened.readable(query))
        .prefetch_related("measurements")
        .order_by("-effective_at", "-pk")
    )
    found = []
    for row in rows:
        values = _values(opened.title(row), opened.resource(row), list(row.measurements.all()))
        found.append(
            Panel(row.pk, opened.title(row), row.effective_at, [Result(row.pk, values[0].name, values)])
        )
    return found


def panel_of(by: Actor, patient_id: int, report_id: int) -> Panel:
    found = access_lab_report(by.user, report_id)
    opened = open_record(by, patient_id, page="lab_panel", object_type="lab_report", object_id=report_id)
    belongs(by, found, opened.patient, "lab_report")
    results = _results(opened, [found.pk])[found.pk]
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
    """A test's numeric values over time, oldest first; 404 (refused) for a code she has no value
    of (or, for a patient, none released yet)."""
    patient = access_record_patient(by.user, patient_id)
    query = Measurement.objects.filter(
        patient=patient, code=code, value__isnull=False, effective_at__isnull=False
    )
    found = (
        readable_by(by.user, query, timezone.now(), prefix="record__")
        .order_by("effective_at", "pk")
        .values_list("record_id", "effective_at", *Values.COLUMNS)
    )
    rows = [(record_id, at, Values(*values)) for record_id, at, *values in found]
    if not rows:
        raise refuse(by.user, "lab_trend", code)
    opened = open_record(by, patient_id, page="lab_trend", object_type="lab_trend", object_id=code)
    record_id, _, latest = rows[-1]
    # Only the latest result's JSON is opened: it names the test (or the component) in words.
    row_key, title, resource = Record.objects.values_list("row_key", "title", "resource").get(
        pk=record_id, patient=patient
    )
    title_words = _opened(opened, row_key, "title", bytes(title))
    name = _values(title_words, _json(_opened(opened, row_key, "resource", bytes(resource))), [latest])[
        0
    ].name
    points = [
        Point(at, r.value or 0.0, f"{number(r.value or 0.0)} {r.unit}".strip(), flag_of(r))
        for _, at, r in rows
    ]
    return Trend(code, name, latest.unit, points, latest.low, latest.high)


@dataclass(frozen=True)
class Chart:
    """A line chart's geometry, in the SVG's own units (the template only draws it)."""

    width: int
    height: int
    font: int  # the labels' size, in the same units
    left: int  # where the plot starts (after the value labels)
    right: int  # where it ends
    points: list[Point]
    line: str
    band: tuple[float, float] | None  # the reference band's top y and height
    ticks: list[tuple[float, str]]  # y and label of the value axis
    first: str
    last: str

    @property
    def plot_width(self) -> int:
        return self.right - self.left

    @property
    def label_x(self) -> int:
        """Where the value labels end (they are drawn right-aligned, before the plot)."""
        return self.left - self.font // 2

    @property
    def date_y(self) -> int:
        """The baseline of the first and last dates, under the plot."""
        return self.height - self.font // 2


# Two drawings of each trend: a wide one for desktops and a narrow one for phones and
# tablets (the page shows one by the screen's width). One SVG scaled down to a phone made
# its labels a third of their size; the narrow one keeps them about 13 px at 320 px wide.
WIDE = {"width": 640, "height": 260, "font": 15}
NARROW = {"width": 320, "height": 220, "font": 14}


def chart_of(trend: Trend, *, width: int = 640, height: int = 260, font: int = 15) -> Chart:
    values = [p.value for p in trend.points]
    values += [v for v in (trend.low, trend.high) if v is not None]
    lowest, highest = min(values), max(values)
    margin = (highest - lowest) * 0.1 or abs(highest) * 0.1 or 1.0
    lowest, highest = lowest - margin, highest + margin
    labels = [number(round(v, 2)) for v in (lowest + margin, (lowest + highest) / 2, highest - margin)]
    # Wide enough for the longest value label (a digit is about 0.6 of the font size).
    left = round(font * (1 + 0.6 * max(len(label) for label in labels)))
    right, top, bottom = width - font, font, font * 2 + 8
    times = [p.at.timestamp() if p.at else 0.0 for p in trend.points]
    start, span = times[0], (times[-1] - times[0]) or 1.0

    def x(moment: float) -> float:
        inner = right - left
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
    ticks = [
        (y(v), label)
        for v, label in zip((lowest + margin, (lowest + highest) / 2, highest - margin), labels, strict=True)
    ]
    first, last = trend.points[0].at, trend.points[-1].at
    return Chart(
        width,
        height,
        font,
        left,
        right,
        placed,
        " ".join(f"{p.x},{p.y}" for p in placed),
        band,
        ticks,
        f"{first:%b %Y}" if first else "",
        f"{last:%b %Y}" if last else "",
    )
