"""No patient file touches the disk in the clear, not even while it is being uploaded.

Django spools an upload over FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) to the system temp
directory, unencrypted, and a process killed mid-upload leaves it there. The portal keeps
uploads in memory (bounded by PORTAL_MAX_REQUEST_BYTES). Paula uploads a 3 MB text file
through a real HTTP server; once completely, once cut off half-way (the state a killed process
would leave), and the temp directories and var/ are searched for the file's words.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from portal.accounts.models import User
from portal.messaging.models import Attachment

pytestmark = pytest.mark.django_db(transaction=True)

SIZE = 3 * 1024 * 1024  # over Django's 2.5 MB in-memory limit, under the portal's 6 MB per file


def _places(vault: Path) -> list[Path]:
    found = {Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), Path(settings.VAR_DIR), vault}  # noqa: S108
    return [place for place in found if place.is_dir()]


def _files_holding(marker: bytes, places: list[Path], *, since: float) -> list[str]:
    """Files changed since `since` under `places` whose bytes hold `marker`."""
    hits = []
    for place in places:
        for root, _dirs, names in os.walk(place, onerror=lambda error: None):
            for name in names:
                path = os.path.join(root, name)
                try:
                    info = os.lstat(path)
                    if not os.path.isfile(path) or info.st_mtime < since or info.st_size > 64 * 1024 * 1024:
                        continue
                    with open(path, "rb") as handle:
                        if marker in handle.read():
                            hits.append(path)
                except OSError:
                    continue
    return hits


def _text_file(marker: bytes) -> bytes:
    line = marker + b" knee pain since the fall, worse on stairs\n"
    return (line * (SIZE // len(line) + 1))[:SIZE]


class Browser:
    """Paula's browser against the live server: her session cookie and the form's CSRF token."""

    def __init__(self, url: str, session: str) -> None:
        self.host = urlsplit(url)
        self.cookies = {settings.SESSION_COOKIE_NAME: session}
        status, page = self.request("GET", "/messages/new/")
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert status == 200 and found is not None
        self.csrf = found.group(1)

    def headers(self, path: str) -> dict[str, str]:
        return {
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
            "Referer": f"http://{self.host.netloc}{path}",
            "Accept": "application/json",
        }

    def request(self, method: str, path: str, body: bytes = b"", content_type: str = "") -> tuple[int, str]:
        conn = http.client.HTTPConnection(self.host.hostname, self.host.port, timeout=60)
        headers = self.headers(path)
        if content_type:
            headers["Content-Type"] = content_type
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        conn.close()
        return response.status, text

    def multipart(self, team_id: int, content: bytes) -> tuple[bytes, str]:
        boundary = "----portal" + uuid.uuid4().hex
        fields = {
            "csrfmiddlewaretoken": self.csrf,
            "send_token": str(uuid.uuid4()),
            "care_team": str(team_id),
            "category": "general",
            "subject": "My knee",
            "body": "The notes from the physical therapist",
        }
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="therapy-notes.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
        return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_a_large_upload_is_attached_without_a_plaintext_copy_on_disk(
    world: dict[str, Any],
    paula: User,
    signed_in: Callable[[User], Client],
    live_server: Any,
    isolated_vault: Path,
) -> None:
    """A 3 MB file goes through in full (the memory handler takes it; it is not dropped) and is
    stored sealed; nowhere on disk do its words appear."""
    since = time.time() - 1
    marker = f"PLAINTEXT-{uuid.uuid4().hex}".encode()
    browser = Browser(live_server.url, signed_in(paula).cookies[settings.SESSION_COOKIE_NAME].value)
    body, content_type = browser.multipart(world["blue"].pk, _text_file(marker))
    status, answer = browser.request("POST", "/messages/drafts/autosave/", body, content_type)
    assert status == 200, answer[:300]
    assert '"name": "therapy-notes.txt"' in answer
    assert Attachment.objects.get().size == SIZE
    assert _files_holding(marker, _places(isolated_vault), since=since) == []


def test_an_upload_cut_off_half_way_leaves_no_plaintext_on_disk(
    world: dict[str, Any],
    paula: User,
    signed_in: Callable[[User], Client],
    live_server: Any,
    isolated_vault: Path,
) -> None:
    """Half the body sent, then nothing: while the server waits for the rest (the moment a kill
    would freeze), no temp file holds the file's words; nor after the connection is dropped."""
    since = time.time() - 1
    marker = f"PLAINTEXT-{uuid.uuid4().hex}".encode()
    browser = Browser(live_server.url, signed_in(paula).cookies[settings.SESSION_COOKIE_NAME].value)
    body, content_type = browser.multipart(world["blue"].pk, _text_file(marker))
    head = (
        f"POST /messages/drafts/autosave/ HTTP/1.1\r\nHost: {browser.host.netloc}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in browser.headers("/messages/drafts/autosave/").items())
        + "\r\n"
    ).encode()
    raw = socket.create_connection((browser.host.hostname, browser.host.port), timeout=30)
    try:
        raw.sendall(head + body[: len(body) // 2])
        time.sleep(1.5)  # the server reads and handles what came
        assert _files_holding(marker, _places(isolated_vault), since=since) == []
    finally:
        raw.close()
    time.sleep(0.5)
    assert _files_holding(marker, _places(isolated_vault), since=since) == []
    assert not Attachment.objects.exists()


def test_a_body_over_the_cap_is_refused_by_the_real_server_without_reading_it(
    world: dict[str, Any], paula: User, signed_in: Callable[[User], Client], live_server: Any, settings: Any
) -> None:
    """Over HTTP: the 413 page comes back although most of the body was never sent."""
    settings.PORTAL_MAX_REQUEST_BYTES = 1024 * 1024
    browser = Browser(live_server.url, signed_in(paula).cookies[settings.SESSION_COOKIE_NAME].value)
    head = (
        f"POST /messages/new/ HTTP/1.1\r\nHost: {browser.host.netloc}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 50000000\r\n"
        "Accept: text/html\r\n\r\n"
    ).encode()
    raw = socket.create_connection((browser.host.hostname, browser.host.port), timeout=30)
    try:
        raw.sendall(head + b"--x\r\n" + b"y" * 65536)
        answer = raw.recv(65536)
    finally:
        raw.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
