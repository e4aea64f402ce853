"""What a file really is (by its bytes, never its name), and whether the portal takes it."""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass, field

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
    name: str = field(repr=False)
    content: bytes = field(repr=False)
    content_type: str = ""  # set by `screen` for the files it accepts (sniffed once)


@dataclass(frozen=True)
class Refusal:
    """One file the portal will not take, and why, in words the patient can act on."""

    name: str = field(repr=False)  # a file name can say what the patient has
    reason: str
    # The same bytes are already on the message: nothing is lost, so this one need not stop Send.
    duplicate: bool = False

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def blocking(refusals: list[Refusal]) -> list[Refusal]:
    """The refusals that must stop a Send: all but files already attached once."""
    return [refusal for refusal in refusals if not refusal.duplicate]


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


# An Office file is a small archive; more than this unpacked is a zip bomb, not a letter.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_ARCHIVE_ENTRIES = 2000
_MACRO_STORAGES = {"macros", "vba", "_vba_project_cur", "_vba_project", "objectpool"}
_WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_SHEET_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_MACRO_TYPES = ("macroenabled", "vbaproject", "activex", "vbadata")


def _sniff_ole(content: bytes) -> str | None:
    """A Word 97-2003 or Excel 97-2003 file without macros; any other compound file is refused."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(content)) as ole:
            entries = ole.listdir(streams=True, storages=True)
    except (OSError, ValueError, IndexError, KeyError, struct.error, RecursionError):
        return None
    names = {part.casefold() for entry in entries for part in entry}
    if names & _MACRO_STORAGES:
        return None  # Word keeps macros in "Macros", Excel in "_VBA_PROJECT_CUR"
    top = {entry[0] for entry in entries if len(entry) == 1}
    if "WordDocument" in top:
        return DOC
    if "Workbook" in top or "Book" in top:
        return XLS
    return None


def _sniff_office_zip(content: bytes) -> str | None:
    """A Word or Excel file in Office Open XML, with no macro part anywhere."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ARCHIVE_ENTRIES or sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
                return None
            names = {info.filename for info in infos}
            if "[Content_Types].xml" not in names:
                return None
            types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
            relationships = b" ".join(archive.read(name) for name in names if name.endswith(".rels"))
    except (zipfile.BadZipFile, ValueError, OSError, KeyError, DefusedXmlException, ElementTree.ParseError):
        return None
    declared = [element.get("ContentType", "").casefold() for element in types.iter()]
    if _has_macros(declared, names, relationships):
        return None
    return next((kind for main, kind in ((_WORD_MAIN, DOCX), (_SHEET_MAIN, XLSX)) if main in declared), None)


def _has_macros(declared: list[str], names: set[str], relationships: bytes) -> bool:
    # Declared macro content types, a VBA part under any name, or a relationship to one.
    return (
        any(marker in declared_type for declared_type in declared for marker in _MACRO_TYPES)
        or any(name.casefold().endswith(("vbaproject.bin", "vbadata.xml")) for name in names)
        or b"relationships/vbaproject" in relationships.lower()
    )


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
            return _gif_pixels(content)
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


def _gif_pixels(content: bytes) -> int | None:
    """The larger of the logical screen and all frames together: each frame is decoded."""
    width, height = struct.unpack("<HH", content[6:10])
    screen_area = width * height
    index = 13 + _colour_table_size(content[10])
    frames = 0
    try:
        while index < len(content):
            block = content[index]
            if block == 0x3B:  # trailer
                break
            if block == 0x21:  # extension: label, then sub-blocks
                index = _after_sub_blocks(content, index + 2)
            elif block == 0x2C:  # image descriptor
                width, height = struct.unpack("<HH", content[index + 5 : index + 9])
                frames += width * height
                index += 10 + _colour_table_size(content[index + 9])
                index = _after_sub_blocks(content, index + 1)  # after the LZW code size
            else:
                return None
    except (IndexError, struct.error):
        return None
    return max(screen_area, frames)


def _colour_table_size(flags: int) -> int:
    return 3 * (2 ** ((flags & 0x07) + 1)) if flags & 0x80 else 0


def _after_sub_blocks(content: bytes, index: int) -> int:
    while True:
        size = content[index]
        index += 1
        if size == 0:
            return index
        index += size


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


EXTENSIONS = {
    PDF: (".pdf",),
    JPEG: (".jpg", ".jpeg"),
    PNG: (".png",),
    GIF: (".gif",),
    TEXT: (".txt",),
    RTF: (".rtf",),
    DOC: (".doc",),
    XLS: (".xls",),
    DOCX: (".docx",),
    XLSX: (".xlsx",),
}
_KNOWN_EXTENSIONS = {ext for exts in EXTENSIONS.values() for ext in exts}


def extension_of(name: str) -> str:
    """ ".html" for "lab.html"; "" when the name has no extension ("Dr. Smith letter" has none)."""
    base, dot, ext = name.rpartition(".")
    if not dot or not base or not (1 <= len(ext) <= 5) or not ext.isalnum():
        return ""
    return "." + ext.casefold()


def named_for(name: str, content_type: str) -> str | None:
    """The name to keep, ending as the bytes say; None when the name claims a type we refuse.

    The file is opened on someone's computer by its name: text named "update.hta"
    or "chart.svg" would run there, so such names are refused, not stored.
    """
    name = safe_name(name)
    extension = extension_of(name)
    if extension in EXTENSIONS[content_type]:
        return name
    if not extension:
        return name + EXTENSIONS[content_type][0]
    if extension in _KNOWN_EXTENSIONS:  # a PNG called .jpg: keep it, under the right ending
        return name[: -len(extension)] + EXTENSIONS[content_type][0]
    return None


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


DUPLICATE = "the same file is already attached."


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
        content_type = sniff(upload.content)
        digest = hashlib.sha256(upload.content).hexdigest()
        reason = _reason(upload, content_type, digest, count=count, total=total, digests=digests)
        if reason is None:
            reason = scan(upload.content)
        if reason is not None:
            refused.append(Refusal(upload.name, reason, duplicate=reason == DUPLICATE))
            continue
        assert content_type is not None  # _reason refuses what sniff does not know
        name = named_for(upload.name, content_type)
        if name is None:
            refused.append(Refusal(upload.name, _wrong_ending(upload.name)))
            continue
        accepted.append(Upload(name, upload.content, content_type))
        count += 1
        total += len(upload.content)
        digests.add(digest)
    return accepted, refused


def _reason(  # noqa: PLR0911 - one answer per limit
    upload: Upload, content_type: str | None, digest: str, *, count: int, total: int, digests: set[str]
) -> str | None:
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
    if content_type is None:
        return f"this kind of file cannot be sent. Send a {ACCEPTED_KINDS} file."
    pixels = image_pixels(content_type, upload.content)
    if content_type in (PNG, GIF, JPEG) and (
        pixels is None or pixels > settings.PORTAL_ATTACHMENT_MAX_PIXELS
    ):
        return "the picture is too large (too many pixels) or damaged. Send a smaller picture."
    if digest in digests:
        return DUPLICATE
    return None


def _wrong_ending(name: str) -> str:
    return (
        f"files whose names end in {extension_of(safe_name(name))} cannot be sent, whatever they hold. "
        f"Send a {ACCEPTED_KINDS} file with its usual ending (a text file ends in .txt)."
    )


NAME_MAX = 200


def safe_name(name: str) -> str:
    """The file's own name without any folder part or control characters, at most 200 characters.

    A longer name is shortened before its ending, which says how the file opens: the
    ending is kept ("...letter.pdf" stays a PDF), only the part before it is cut.
    """
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "attachment"
    if len(name) <= NAME_MAX:
        return name
    extension = extension_of(name)
    return name[: NAME_MAX - len(extension)].rstrip() + name[len(name) - len(extension) :]


def stored_files_in_use(names: list[str]) -> set[str]:
    """Which of these vault storage names an attachment row names (for the vault's orphan sweep)."""
    from portal.messaging.models import Attachment

    return set(Attachment.objects.filter(storage_name__in=names).values_list("storage_name", flat=True))
