"""The record in words, as sections of entries: what the PDF and the plain text both show.

Built once from the pages' selectors (`portal.records.selectors.export.content_in`), so the
words (a flag in words, a range, a condition's status) are those of the pages. The EHR's
text is untrusted: control characters are taken out here, before either format sees it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from portal.core.record_contributions import Part
from portal.records.selectors.export import RecordContent, covers, day
from portal.records.selectors.labs import Panel

# Every control character but the line break (a tab becomes spaces first).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
NOT_GIVEN = "Not given"
NOTE_NOT_SHOWN = "This note cannot be shown here. Ask your care team for a copy."


def clean(text: str) -> str:
    """Text from the EHR with its line breaks, without control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _CONTROL.sub("", text)


@dataclass(frozen=True)
class Entry:
    """One thing of a section (a condition, a test's value, a note): its title, its fields,
    and for a note or a report its words (`text`, introduced by `text_label`)."""

    title: str
    fields: tuple[tuple[str, str], ...] = ()
    text: str | None = None
    text_label: str = ""


@dataclass(frozen=True)
class Group:
    """Entries that belong together under a heading (a lab panel and its results)."""

    title: str
    entries: list[Entry]


@dataclass(frozen=True)
class Section:
    """A part of the record. With `columns` (the title's column, then each field's label) its
    entries read as a table; without, as blocks of text (notes, reports)."""

    title: str
    empty: str
    groups: list[Group] = field(default_factory=list)
    columns: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return sum(len(g.entries) for g in self.groups)


@dataclass(frozen=True)
class Document:
    name: str
    born: str
    made_on: str
    covers: str
    sections: list[Section]
    title: str = "Health record"

    @property
    def running_head(self) -> str:
        """The line on every page: whose record, their date of birth, and when it was made."""
        return f"{self.name} · Date of birth: {self.born} · Made on {self.made_on}"

    @property
    def contents(self) -> str:
        return ", ".join(f"{s.title} ({s.count})" for s in self.sections)


def document_of(content: RecordContent, *, made_at: datetime, parts: Sequence[Part] = ()) -> Document:
    """The record's sections, then each other domain's part that holds something
    (`portal.core.record_contributions`)."""
    ranged = "" if content.period.everything else " in these dates"
    return Document(
        name=clean(content.name),
        born=day(content.birth_date),
        made_on=day(made_at),
        covers=covers(content.period),
        sections=[
            _conditions(content, ranged),
            _allergies(content, ranged),
            _immunizations(content, ranged),
            _vitals(content, ranged),
            _labs(content, ranged),
            _notes(content, ranged),
            _imaging_reports(content, ranged),
            _imaging_studies(content, ranged),
            *[_part(part) for part in parts if part.rows],  # a part with nothing in it: left out
        ],
    )


def _part(part: Part) -> Section:
    entries = [Entry(clean(row.title), tuple((k, clean(v)) for k, v in row.fields)) for row in part.rows]
    return Section(part.title, part.empty, _one(entries), part.columns)


def _one(entries: list[Entry]) -> list[Group]:
    return [Group("", entries)] if entries else []


def _conditions(content: RecordContent, ranged: str) -> Section:
    entries = [
        Entry(
            clean(c.name) or "Condition not named in the record",
            (("Status", c.status), ("Since", day(c.since))),
        )
        for c in content.summary.conditions
    ]
    return Section(
        "Conditions", f"No conditions on record{ranged}.", _one(entries), ("Condition", "Status", "Since")
    )


def _allergies(content: RecordContent, ranged: str) -> Section:
    entries = [
        Entry(
            clean(a.substance) or NOT_GIVEN,
            (
                ("Reaction", clean(a.reaction) or "No reaction given"),
                ("Risk", a.criticality),
                ("Recorded", day(a.recorded)),
            ),
        )
        for a in content.summary.allergies
    ]
    columns = ("Allergic to", "Reaction", "Risk", "Recorded")
    return Section("Allergies", f"No allergies on record{ranged}.", _one(entries), columns)


def _immunizations(content: RecordContent, ranged: str) -> Section:
    entries = [
        Entry(clean(i.vaccine) or NOT_GIVEN, (("Date", day(i.given)),)) for i in content.summary.immunizations
    ]
    return Section(
        "Immunizations", f"No immunizations on record{ranged}.", _one(entries), ("Vaccine", "Date")
    )


def _vitals(content: RecordContent, ranged: str) -> Section:
    entries = [Entry(v.name, (("Value", v.value), ("Taken", day(v.at)))) for v in content.summary.vitals]
    return Section(
        "Vital signs", f"No vital signs on record{ranged}.", _one(entries), ("Measure", "Value", "Taken")
    )


def _lab_entries(panel: Panel, *, dated: bool = False) -> list[Entry]:
    entries = []
    for result in panel.results:
        for value in result.values:
            name = clean(value.name) or "Test not named in the record"
            entries.append(
                Entry(
                    f"{name} ({day(panel.at)})" if dated else name,
                    (
                        ("Value", clean(value.value)),
                        ("Reference range", clean(value.range)),
                        ("Flag", value.flag or "Not flagged"),
                    ),
                )
            )
    return entries


def _labs(content: RecordContent, ranged: str) -> Section:
    groups = [
        Group(f"{clean(p.name) or 'Panel not named in the record'}, {day(p.at)}", _lab_entries(p))
        for p in content.panels
    ]
    loose = [entry for p in content.loose_results for entry in _lab_entries(p, dated=True)]
    if loose:
        groups.append(Group("Other laboratory results", loose))
    columns = ("Test", "Value", "Reference range", "Flag")
    return Section("Lab results", f"No lab results on record{ranged}.", groups, columns)


def _notes(content: RecordContent, ranged: str) -> Section:
    entries = [
        Entry(
            clean(n.line.type) or "Note",
            (
                ("Date", day(n.line.at)),
                ("Author", clean(n.line.author) or NOT_GIVEN),
                ("Visit", clean(n.line.encounter) or NOT_GIVEN),
            ),
            clean(n.text) if n.text is not None else NOTE_NOT_SHOWN,
            "Note",
        )
        for n in content.notes
    ]
    return Section("Clinical notes", f"No clinical notes on record{ranged}.", _one(entries))


def _imaging_reports(content: RecordContent, ranged: str) -> Section:
    entries = [
        Entry(
            clean(r.name) or "Report not named in the record",
            (
                ("Date", day(r.at)),
                ("Reported by", clean(r.performer) or NOT_GIVEN),
                ("Conclusion", clean(r.conclusion) or "No conclusion given"),
            ),
            clean(r.findings) or None,
            "Findings",
        )
        for r in content.imaging.reports
    ]
    return Section("Imaging reports", f"No imaging reports on record{ranged}.", _one(entries))


def _imaging_studies(content: RecordContent, ranged: str) -> Section:
    entries = [
        Entry(
            clean(s.name) or "Study not named in the record",
            (
                ("Kind", clean(s.modality)),
                ("Body site", clean(s.body_site) or NOT_GIVEN),
                ("Series", str(s.series_count) if s.series_count is not None else NOT_GIVEN),
                ("Date", day(s.at)),
                ("Report", "In the imaging reports" if s.has_report else "Not available yet"),
            ),
        )
        for s in content.imaging.studies
    ]
    columns = ("Study", "Kind", "Body site", "Series", "Date", "Report")
    return Section("Imaging studies", f"No imaging studies on record{ranged}.", _one(entries), columns)
