"""The PDF and the plain text of a record, made from text the EHR sent as it liked: long words,
long lines, control characters, scripts the PDF's standard font cannot write, emoji."""

from __future__ import annotations

import re
import zlib

from portal.records.exports.document import Document, Entry, Group, Section, clean
from portal.records.exports.pdf import loses_characters, record_pdf, writable
from portal.records.exports.text import record_text

ODD = "Zоя Ωmega 患者 🩺 naïve ő\u200b end"  # Cyrillic, Greek, Chinese, an emoji, a zero-width space
LONG_WORD = "pneumonoultramicroscopicsilicovolcanoconiosis" * 40
LONG_LINE = " ".join(["a line of a note that goes on"] * 300)


def document(*, name: str = "Paula Quill") -> Document:
    note = Entry(
        "Progress note",
        (("Date", "April 4, 2013"), ("Author", ODD)),
        clean(f"first\r\nsecond\x00\x07 line\tindented\n{LONG_WORD}\n{LONG_LINE}\n(brackets) and \\ slash"),
        "Note",
    )
    rows = [Entry(LONG_WORD, (("Status", ODD), ("Since", "May 1, 2020")))] * 40
    return Document(
        name=name,
        born="April 28, 1986",
        made_on="December 2, 2026",
        covers="Everything in your record",
        sections=[
            Section(
                "Conditions", "No conditions on record.", [Group("", rows)], ("Condition", "Status", "Since")
            ),
            Section("Clinical notes", "No clinical notes on record.", [Group("", [note])]),
            Section("Allergies", "No allergies on record."),
        ],
    )


def pdf_streams(pdf: bytes) -> list[bytes]:
    """Every stream of the PDF, inflated, each read by the /Length its dictionary gives."""
    found = []
    for match in re.finditer(rb"<<((?:(?!<<|>>).)*)>>\s*stream\r?\n", pdf, re.DOTALL):
        dictionary = match.group(1)
        length = int(re.search(rb"/Length (\d+)", dictionary).group(1))  # type: ignore[union-attr]
        raw = pdf[match.end() : match.end() + length]
        found.append(zlib.decompress(raw) if b"/FlateDecode" in dictionary else raw)
    return found


def streams(pdf: bytes) -> bytes:
    return b"".join(pdf_streams(pdf))


def test_odd_text_makes_a_pdf_that_says_what_it_could_not_show() -> None:
    pdf = record_pdf(document(), portal_name="MHS Patient Portal")
    content = streams(pdf)
    assert pdf.startswith(b"%PDF-") and content.count(b"Paula Quill \xb7 Date of birth") >= 3
    assert b'written as "?"' in content  # the first page says some characters could not be shown
    assert writable(ODD) == "Z?? ?mega ?? ? naïve o end"
    assert b"na\xefve" in content  # a letter Windows-1252 has stays itself
    assert b"\\(brackets\\) and \\\\ slash" in content
    assert b"No allergies on record." in content


def test_plain_latin_text_does_not_warn_of_lost_characters() -> None:
    plain = Document("José Núñez", "April 28, 1986", "December 2, 2026", "Everything in your record", [])
    assert not loses_characters(plain)
    assert b'written as "?"' not in streams(record_pdf(plain, portal_name="Portal"))
    assert loses_characters(document())


def test_the_text_keeps_every_character_and_drops_control_characters() -> None:
    text = record_text(document(), portal_name="MHS Patient Portal").decode()
    assert ODD in text
    assert "first\nsecond line    indented\n" in text and "\x00" not in text and "\x07" not in text
    assert f"Condition: {LONG_WORD}\nStatus: {ODD}\nSince: May 1, 2020\n" in text
    assert "Section 3 of 3: Allergies\n\nNo allergies on record.\n" in text
    assert text.endswith("End of the health record of Paula Quill.\n")


def test_a_very_long_name_wraps_in_the_head_of_every_page() -> None:
    pdf = record_pdf(document(name="Paula " + "Quill-" * 60), portal_name="Portal")
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-10:]
