"""What a file really is (by its bytes, never its name), and whether the portal takes it."""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass

from django.conf import settings

ACCEPTED_KINDS = "PDF, JPEG, PNG, GIF, TXT, RTF, DOC, DOCX, XLS or XLSX"

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
GIF = "image/gif"
TEXT = "text/plain"
RTF = "application/rtf"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes


@dataclass(frozen=True)
class Refusal:
    """One file the portal will not take, and why, in words the patient can act on."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def sniff(content: bytes) -> str | None:  # noqa: PLR0911 - one answer per file kind
    """The content type the bytes prove, or None for anything not on the list."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if content.startswith(b"{\\rtf"):
        return RTF
    if content.startswith(_OLE):
        return _sniff_ole(content)
    if content.startswith(b"PK\x03\x04"):
        return _sniff_office_zip(content)
    return TEXT if _is_text(content) else None


def _sniff_ole(content: bytes) -> str | None:
    # Compound File directory entries name their streams in UTF-16LE.
    if "WordDocument".encode("utf-16-le") in content:
        return DOC
    if "Workbook".encode("utf-16-le") in content or "Book".encode("utf-16-le") in content:
        return XLS
    return None


def _sniff_office_zip(content: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names or any(name.endswith("vbaProject.bin") for name in names):
        return None  # not Office Open XML, or macro-enabled
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return None


def _is_text(content: bytes) -> bool:
    if b"\x00" in content:
        return False
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return control == 0


def image_pixels(content_type: str, content: bytes) -> int | None:
    """Width × height read from the image header; None if it cannot be read."""
    try:
        if content_type == PNG:
            width, height = struct.unpack(">II", content[16:24])
        elif content_type == GIF:
            width, height = struct.unpack("<HH", content[6:10])
        elif content_type == JPEG:
            size = _jpeg_size(content)
            if size is None:
                return None
            width, height = size
        else:
            return None
    except struct.error:
        return None
    return width * height


def _jpeg_size(content: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(content):
        if content[index] != 0xFF:
            index += 1
            continue
        marker = content[index + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            index += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", content[index + 2 : index + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", content[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def screen(uploads: list[Upload], *, kept: list[tuple[int, str]]) -> tuple[list[Upload], list[Refusal]]:
    """Split new uploads into accepted files and refusals.

    `kept` lists (size, sha256 hex) of the files already attached, which count
    toward the limits and against duplicates.
    """
    import hashlib

    from portal.messaging.scanning import scan

    accepted: list[Upload] = []
    refused: list[Refusal] = []
    count = len(kept)
    total = sum(size for size, _ in kept)
    digests = {digest for _, digest in kept}
    for upload in uploads:
        reason = _reason(upload, count=count, total=total, digests=digests)
        if reason is None:
            reason = scan(upload.content)
        if reason is not None:
            refused.append(Refusal(upload.name, reason))
            continue
        accepted.append(upload)
        count += 1
        total += len(upload.content)
        digests.add(hashlib.sha256(upload.content).hexdigest())
    return accepted, refused


def _reason(upload: Upload, *, count: int, total: int, digests: set[str]) -> str | None:  # noqa: PLR0911
    import hashlib

    size = len(upload.content)
    if count >= settings.PORTAL_ATTACHMENT_MAX_FILES:
        return (
            f"a message can have up to {settings.PORTAL_ATTACHMENT_MAX_FILES} files. Remove one to add this."
        )
    if size == 0:
        return "the file is empty. Choose the file again, or a different one."
    if size > settings.PORTAL_ATTACHMENT_MAX_BYTES:
        return (
            f"the file is larger than {megabytes(settings.PORTAL_ATTACHMENT_MAX_BYTES)}. Send a smaller copy."
        )
    if total + size > settings.PORTAL_ATTACHMENT_MAX_TOTAL_BYTES:
        return (
            f"all files together may be up to {megabytes(settings.PORTAL_ATTACHMENT_MAX_TOTAL_BYTES)}; "
            "this one would go over. Send it in another message."
        )
    content_type = sniff(upload.content)
    if content_type is None:
        return f"this kind of file cannot be sent. Send a {ACCEPTED_KINDS} file."
    pixels = image_pixels(content_type, upload.content)
    if content_type in (PNG, GIF, JPEG) and (
        pixels is None or pixels > settings.PORTAL_ATTACHMENT_MAX_PIXELS
    ):
        return "the picture is too large (too many pixels) or damaged. Send a smaller picture."
    if hashlib.sha256(upload.content).hexdigest() in digests:
        return "the same file is already attached."
    return None


def safe_name(name: str) -> str:
    """The file's own name without any folder part or control characters, at most 200 characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "attachment"
    return name[:200]
