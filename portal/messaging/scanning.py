"""The virus-scan hook: ClamAV's clamd when PORTAL_CLAMD_ADDRESS is set.

`scan(content)` returns None for a clean file, or the reason to show. Another
scanner plugs in as a callable named in PORTAL_VIRUS_SCANNER. If clamd is
configured but cannot be reached, the file is refused (fail closed). With
neither set, files go unscanned: `check --deploy` reports that as an error
(portal/messaging/checks.py) unless PORTAL_VIRUS_SCANNING=false says it is
on purpose.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Callable

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

FLAGGED = "the virus scanner flagged this file. It was not attached. Check your device for viruses."
UNCHECKED = "the file could not be checked for viruses just now. Try again in a few minutes."


def scan(content: bytes) -> str | None:
    dotted = getattr(settings, "PORTAL_VIRUS_SCANNER", "")
    scanner: Callable[[bytes], str | None] = import_string(dotted) if dotted else clamd_scan
    return scanner(content)


def clamd_scan(content: bytes) -> str | None:
    address = settings.PORTAL_CLAMD_ADDRESS
    if not address:
        return None
    try:
        reply = _instream(address, content)
    except OSError as error:
        logger.error("clamd at the configured address could not be used (%s)", type(error).__name__)
        return UNCHECKED
    if reply.endswith("OK"):
        return None
    if reply.endswith("FOUND"):
        return FLAGGED
    logger.error("clamd answered something unexpected")
    return UNCHECKED


def _instream(address: str, content: bytes) -> str:
    if address.startswith("/"):
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: str | tuple[str, int] = address
    else:
        host, _, port = address.rpartition(":")
        connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (host, int(port))
    with connection:
        connection.settimeout(30)
        connection.connect(target)
        connection.sendall(b"zINSTREAM\0")
        for start in range(0, len(content), 65536):
            chunk = content[start : start + 65536]
            connection.sendall(struct.pack(">I", len(chunk)) + chunk)
        connection.sendall(struct.pack(">I", 0))
        reply = b""
        while not reply.endswith(b"\0"):
            data = connection.recv(4096)
            if not data:
                break
            reply += data
    return reply.rstrip(b"\0").decode("utf-8", "replace").strip()
