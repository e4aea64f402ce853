"""The virus scanner for real: Debian's ClamAV daemon (clamd) started beside the test.

Signature updates cannot be downloaded here, so clamd gets a database of one signature made
for the test: the MD5 hash of the EICAR test file (what `sigtool --md5 eicar.com` prints). Paula
attaches EICAR and a clean file to a message: the portal refuses EICAR with its own words,
keeps the clean file, and sends it.

Skipped only where the clamd binary is missing; with CI=true (as in .ci/run, which installs
clamav-daemon) a missing clamd is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from portal.accounts.models import User
from portal.messaging.attachments import Upload, screen
from portal.messaging.models import Draft, Message
from portal.messaging.scanning import FLAGGED

# The EICAR anti-virus test file: harmless, and detected as a virus by every scanner.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
STARTUP_SECONDS = 60.0


@dataclass(frozen=True)
class Clamd:
    socket_path: str
    tcp_address: str


def clamd_binary() -> str | None:
    return shutil.which("clamd") or next(
        (path for path in ("/usr/sbin/clamd", "/usr/local/sbin/clamd") if os.access(path, os.X_OK)), None
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers_ping(socket_path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(2)
            connection.connect(socket_path)
            connection.sendall(b"zPING\0")
            return connection.recv(16).startswith(b"PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def clamd() -> Iterator[Clamd]:
    """clamd in the foreground with a temporary configuration: a Unix socket and a TCP port on
    127.0.0.1, and a signature database holding only the EICAR signature."""
    binary = clamd_binary()
    if binary is None:
        reason = "clamd is not installed (Debian: apt-get install clamav-daemon clamav)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run this test (.ci/run installs it)")
        pytest.skip(reason)
    # A short directory: a Unix socket path may not exceed 107 bytes.
    home = Path(tempfile.mkdtemp(prefix="clamd-"))
    database = home / "db"
    database.mkdir()
    (database / "eicar.hdb").write_text(
        f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Eicar-Test-Signature\n"  # noqa: S324 - ClamAV's format
    )
    socket_path, port = str(home / "clamd.sock"), free_port()
    (home / "clamd.conf").write_text(
        "\n".join(
            [
                "Foreground yes",
                f"LocalSocket {socket_path}",
                f"TCPSocket {port}",
                "TCPAddr 127.0.0.1",
                f"DatabaseDirectory {database}",
                f"TemporaryDirectory {home}",
                f"LogFile {home / 'clamd.log'}",
                "SelfCheck 0",
                "",
            ]
        )
    )
    process = subprocess.Popen(
        [binary, "--config-file", str(home / "clamd.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not answers_ping(socket_path):
            log = (home / "clamd.log").read_text() if (home / "clamd.log").exists() else ""
            assert process.poll() is None, f"clamd ended with status {process.returncode}:\n{log}"
            assert time.monotonic() < deadline, f"clamd did not answer within {STARTUP_SECONDS} s:\n{log}"
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)  # wakes at once if clamd dies
        yield Clamd(socket_path=socket_path, tcp_address=f"127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.parametrize("over", ["unix socket", "tcp"])
def test_clamd_flags_eicar_and_passes_a_clean_file(clamd: Clamd, settings: Any, over: str) -> None:
    """Through either kind of PORTAL_CLAMD_ADDRESS the real clamd finds EICAR; a clean file passes."""
    settings.PORTAL_CLAMD_ADDRESS = clamd.socket_path if over == "unix socket" else clamd.tcp_address
    accepted, refused = screen([Upload("eicar.txt", EICAR), Upload("fine.txt", b"fine")], kept=[])
    assert [upload.name for upload in accepted] == ["fine.txt"]
    assert [(refusal.name, refusal.reason) for refusal in refused] == [("eicar.txt", FLAGGED)]


@pytest.mark.django_db
def test_eicar_attached_to_a_message_is_refused_and_the_clean_file_is_sent(
    clamd: Clamd,
    settings: Any,
    world: dict[str, Any],
    signed_in: Callable[[User], Client],
    paula: User,
) -> None:
    """Paula sends a message with EICAR and a clean file: the page names EICAR with the scanner's
    reason and keeps her text; only the clean file is kept on the draft, and it is what is sent."""
    settings.PORTAL_CLAMD_ADDRESS = clamd.socket_path
    client = signed_in(paula)
    form = {
        "send_token": str(uuid.uuid4()),
        "care_team": world["blue"].pk,
        "category": "general",
        "subject": "Scan of my results",
        "body": "Both files attached",
        "action": "send",
    }
    files = [
        SimpleUploadedFile("eicar.txt", EICAR, content_type="text/plain"),
        SimpleUploadedFile("results.txt", b"A1c 6.1", content_type="text/plain"),
    ]
    response = client.post("/messages/new/", {**form, "attachments": files})
    assert response.status_code == 400
    html = response.content.decode()
    assert "eicar.txt" in html and FLAGGED in html
    assert "Both files attached" in html and "results.txt" in html
    assert not Message.objects.exists()
    assert Draft.objects.get().attachments.count() == 1

    sent = client.post("/messages/new/", form)
    assert sent.status_code == 302
    assert Message.objects.get().attachments.count() == 1
