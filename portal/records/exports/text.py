"""The record as plain text for screen readers: headings on lines of their own, and each entry
as "Label: value" lines, never a table drawn with characters (a screen reader would read
every dash and bar aloud). A note's text keeps its own lines, between "Note:" and "End of note."."""

from __future__ import annotations

from portal.records.exports.document import Document, Entry, Section


def record_text(document: Document, *, portal_name: str) -> bytes:
    lines = [
        f"{document.title} of {document.name}",
        "",
        f"Name: {document.name}",
        f"Date of birth: {document.born}",
        f"Made on: {document.made_on}",
        f"Covers: {document.covers}",
        f"Made by {portal_name} from your hospital's record.",
        f"This file has {len(document.sections)} sections: {document.contents}.",
    ]
    for number, section in enumerate(document.sections, start=1):
        lines += ["", "", f"Section {number} of {len(document.sections)}: {section.title}", ""]
        lines += _section(section)
    lines += ["", "", f"End of the {document.title.lower()} of {document.name}."]
    return ("\n".join(lines) + "\n").encode()


def _section(section: Section) -> list[str]:
    if not section.groups:
        return [section.empty]
    lines: list[str] = []
    for group in section.groups:
        if group.title:
            lines += [f"{group.title}:", ""]
        for entry in group.entries:
            lines += _entry(section, entry)
            lines.append("")
    return lines[:-1]


def _entry(section: Section, entry: Entry) -> list[str]:
    title_label = f"{section.columns[0]}: " if section.columns else ""
    lines = [f"{title_label}{entry.title}"]
    lines += [f"{label}: {value}" for label, value in entry.fields]
    if entry.text is not None:
        lines += [f"{entry.text_label}:", entry.text.rstrip("\n"), f"End of {entry.text_label.lower()}."]
    return lines
