"""The record as a readable PDF (fpdf2): a title page's head, then one part per section, with
the patient's name, date of birth and the day it was made at the top of every page, and
"Page N of M" at the foot.

The font is Helvetica, one of the PDF's standard fonts: nothing to ship or install (no font
file from the system is used), so the same PDF is made on any machine. Those fonts have
Windows-1252's characters only (Latin letters with their accents, the usual punctuation):
any other character is written as its closest letter (ő as o) or as "?", and the first page
then says so and points to the plain text and FHIR downloads, which keep every character.
Long words and lines wrap; nothing the EHR sends can stop the PDF from being made.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from portal.records.exports.document import Document, Entry, Group, Section

ENCODING = "windows-1252"
FONT = "Helvetica"
# Beyond Windows-1252: what a clinical text most often holds, in plain letters.
SUBSTITUTES = {
    "\u2212": "-",  # minus sign
    "\u2010": "-",
    "\u2011": "-",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u2192": "->",
    "\u2190": "<-",
    "\u2248": "~",
    "\u2260": "!=",
    "\u00a0": " ",
}
# Relative column widths by number of columns; a lab table by its own columns (a test's name is
# long, its flag short).
COLUMN_WIDTHS: dict[int | tuple[str, ...], tuple[int, ...]] = {
    2: (2, 1),
    3: (5, 3, 2),
    4: (4, 3, 2, 2),
    5: (4, 2, 3, 3, 2),
    6: (4, 2, 2, 1, 2, 2),
    ("Test", "Value", "Reference range", "Flag"): (8, 5, 5, 3),
}


@lru_cache(maxsize=4096)
def _letter(character: str) -> str:
    """One character as Windows-1252 can write it: itself, a plain substitute, or "?"."""
    try:
        character.encode(ENCODING)
        return character
    except UnicodeEncodeError:
        pass
    if character in SUBSTITUTES:
        return SUBSTITUTES[character]
    if unicodedata.category(character) == "Cf":  # zero-width and direction marks: not shown
        return ""
    plain = "".join(c for c in unicodedata.normalize("NFKD", character) if not unicodedata.combining(c))
    try:
        plain.encode(ENCODING)
    except UnicodeEncodeError:
        return "?"
    return plain or "?"


def writable(text: str) -> str:
    return "".join(_letter(c) for c in text)


def loses_characters(document: Document) -> bool:
    """Whether some text of `document` is written with "?" in the PDF."""
    texts = [document.name, document.covers]
    for section in document.sections:
        for group in section.groups:
            texts.append(group.title)
            for entry in group.entries:
                texts += [entry.title, entry.text or "", *(value for _, value in entry.fields)]
    return any(c != "?" and _letter(c) == "?" for text in texts for c in text)


class _RecordPdf(FPDF):
    def __init__(self, document: Document) -> None:
        super().__init__(orientation="portrait", unit="mm", format="Letter")
        self.document = document
        self.core_fonts_encoding = ENCODING
        self.set_margins(left=18, top=14, right=18)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(document.title)
        self.set_lang("en-US")
        self.alias_nb_pages()

    def header(self) -> None:
        self.set_font(FONT, "", 9)
        self.set_text_color(60)
        self.multi_cell(
            0, 4.5, writable(self.document.running_head), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.set_draw_color(160)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.set_text_color(0)
        self.ln(5)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FONT, "", 9)
        self.set_text_color(60)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")
        self.set_text_color(0)

    def paragraph(self, text: str, *, size: float = 10.5, style: str = "", height: float = 5.2) -> None:
        self.set_font(FONT, style, size)
        self.multi_cell(
            0, height, writable(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.WORD
        )


def record_pdf(document: Document, *, portal_name: str) -> bytes:
    pdf = _RecordPdf(document)
    pdf.add_page()
    pdf.paragraph(f"{document.title} of {document.name}", size=20, style="B", height=9)
    pdf.ln(2)
    for label, value in (
        ("Name", document.name),
        ("Date of birth", document.born),
        ("Made on", document.made_on),
        ("Covers", document.covers),
    ):
        pdf.paragraph(f"{label}: {value}")
    pdf.ln(2)
    pdf.paragraph(f"Made by {portal_name} from your hospital's record. Contents: {document.contents}.")
    if loses_characters(document):
        pdf.ln(1)
        pdf.paragraph(
            'Some characters of your record cannot be shown in this PDF and are written as "?". '
            "The plain text and FHIR downloads keep every character.",
            style="I",
        )
    for section in document.sections:
        _section(pdf, section)
    return bytes(pdf.output())


def _section(pdf: _RecordPdf, section: Section) -> None:
    pdf.ln(5)
    if pdf.will_page_break(30):
        pdf.add_page()
    pdf.start_section(section.title)
    pdf.paragraph(section.title, size=15, style="B", height=8)
    pdf.ln(1)
    if not section.groups:
        pdf.paragraph(section.empty)
        return
    for group in section.groups:
        if group.title:
            pdf.ln(2)
            if pdf.will_page_break(20):
                pdf.add_page()
            pdf.paragraph(group.title, size=11.5, style="B", height=6)
        if section.columns:
            _table(pdf, section.columns, group)
        else:
            for entry in group.entries:
                _block(pdf, entry)


def _table(pdf: _RecordPdf, columns: tuple[str, ...], group: Group) -> None:
    pdf.set_font(FONT, "", 9.5)
    with pdf.table(
        col_widths=COLUMN_WIDTHS.get(columns) or COLUMN_WIDTHS.get(len(columns)),
        text_align="LEFT",
        v_align="TOP",
        line_height=4.8,
        padding=(1.2, 1.5),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        headings_style=FontFace(emphasis="BOLD", fill_color=235),
        repeat_headings=1,
        wrapmode=WrapMode.WORD,
    ) as table:
        heading = table.row()
        for column in columns:
            heading.cell(writable(column))
        for entry in group.entries:
            row = table.row()
            row.cell(writable(entry.title))
            for _, value in entry.fields:
                row.cell(writable(value))
    pdf.ln(2)


def _block(pdf: _RecordPdf, entry: Entry) -> None:
    pdf.ln(3)
    if pdf.will_page_break(25):
        pdf.add_page()
    pdf.paragraph(entry.title, size=11, style="B", height=5.6)
    for label, value in entry.fields:
        pdf.paragraph(f"{label}: {value}", size=10)
    if entry.text is not None:
        pdf.ln(1)
        pdf.paragraph(entry.text, size=10, height=4.8)
