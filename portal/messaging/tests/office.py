"""Small but real Office files for the attachment tests, written here from the format specs.

`compound_file` writes a Compound File Binary (MS-CFB, version 3, 512-byte
sectors) that olefile reads as Word or Excel 97-2003 would: streams are padded
to 4,096 bytes so that all of them live in the main FAT. `office_zip` writes an
Office Open XML package with its [Content_Types].xml.
"""

from __future__ import annotations

import io
import struct
import zipfile

SECTOR = 512
FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def compound_file(tree: dict[str, object]) -> bytes:
    """`tree` maps names to bytes (a stream) or to a dict (a storage holding more)."""
    entries: list[dict[str, object]] = [{"name": "Root Entry", "type": 5, "children": []}]
    streams: list[tuple[int, bytes]] = []

    def add(parent: int, items: dict[str, object]) -> None:
        for name, value in items.items():
            index = len(entries)
            entry: dict[str, object] = {"name": name, "type": 1 if isinstance(value, dict) else 2}
            entry["children"] = []
            entries.append(entry)
            children = entries[parent]["children"]
            assert isinstance(children, list)
            children.append(index)
            if isinstance(value, dict):
                add(index, value)
            else:
                assert isinstance(value, bytes)
                padded = value + b"\0" * max(0, 4096 - len(value))
                streams.append((index, padded))

    add(0, tree)
    directory_sectors = -(-len(entries) * 128 // SECTOR)
    data_sectors = sum(-(-len(data) // SECTOR) for _, data in streams)
    assert 1 + directory_sectors + data_sectors <= SECTOR // 4, "one FAT sector is enough for a test file"
    fat = [FREE] * (SECTOR // 4)
    fat[0] = FAT_SECTOR
    next_sector = 1

    def chain(count: int) -> int:
        nonlocal next_sector
        first = next_sector
        for offset in range(count):
            fat[first + offset] = first + offset + 1 if offset < count - 1 else END
        next_sector += count
        return first

    directory_start = chain(directory_sectors)
    body = b""
    for index, data in streams:
        count = -(-len(data) // SECTOR)
        entries[index]["start"] = chain(count)
        entries[index]["size"] = len(data)
        body += data + b"\0" * (count * SECTOR - len(data))
    # Siblings as a chain to the right; each storage points at its first child.
    for entry in entries:
        children = entry["children"]
        assert isinstance(children, list)
        if children:
            entry["child"] = children[0]
            for left, right in zip(children, children[1:], strict=False):
                entries[left]["right"] = right
    directory = b"".join(_directory_entry(entry) for entry in entries)
    directory += b"\0" * (directory_sectors * SECTOR - len(directory))
    header = (
        SIGNATURE
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIII", 0, 1, directory_start, 0)
        + struct.pack("<IIIII", 4096, END, 0, END, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", FREE) * 108
    )
    assert len(header) == SECTOR
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + body


def _directory_entry(entry: dict[str, object]) -> bytes:
    name = str(entry["name"]).encode("utf-16-le") + b"\0\0"
    start = entry.get("start", END if entry["type"] == 5 else 0)
    return (
        name.ljust(64, b"\0")
        + struct.pack("<HBB", len(name), entry["type"], 1)
        + struct.pack(
            "<III", entry.get("left", NO_STREAM), entry.get("right", NO_STREAM), entry.get("child", NO_STREAM)
        )
        + b"\0" * 16
        + b"\0" * 4
        + b"\0" * 16
        + struct.pack("<IQ", start, entry.get("size", 0))
    )


def word_97(*, macros: bool = False) -> bytes:
    tree: dict[str, object] = {"WordDocument": b"\xec\xa5" + b"words", "1Table": b"table"}
    if macros:
        tree["Macros"] = {"VBA": {"dir": b"vba project", "ThisDocument": b"Sub AutoOpen()"}}
    return compound_file(tree)


def excel_97(*, macros: bool = False) -> bytes:
    tree: dict[str, object] = {"Workbook": b"\x09\x08" + b"cells"}
    if macros:
        tree["_VBA_PROJECT_CUR"] = {"VBA": {"dir": b"vba project"}}
    return compound_file(tree)


WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
SHEET_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def office_zip(
    main_part: str, main_type: str, *, extra: dict[str, str] | None = None, types: str = ""
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/{main_part}" ContentType="{main_type}"/>{types}</Types>',
        )
        archive.writestr(main_part, "<document/>")
        for name, text in (extra or {}).items():
            archive.writestr(name, text)
    return buffer.getvalue()


def docx(**kwargs: object) -> bytes:
    return office_zip("word/document.xml", WORD_MAIN, **kwargs)  # type: ignore[arg-type]


def xlsx(**kwargs: object) -> bytes:
    return office_zip("xl/workbook.xml", SHEET_MAIN, **kwargs)  # type: ignore[arg-type]
