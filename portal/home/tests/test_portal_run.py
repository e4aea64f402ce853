"""`manage.py portal_run`: gunicorn, the task worker and the jobs loop, kept running together."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from portal.home.supervisor import Child, Supervisor

BASE_DIR = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; gunicorn is POSIX")


def wait_for(condition: Callable[[], object], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children and grandchildren), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url)  # noqa: S310 - our own server on 127.0.0.1
    opener = urllib.request.build_opener(NoRedirects)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@pytest.fixture
def embedded_portal(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """A real `portal_run` as `make run` starts it: a fresh SQLite database, collected static files."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL"))}
    environ |= {"PORTAL_ENV": "development", "PORTAL_VAR_DIR": str(tmp_path / "var")}
    manage = [sys.executable, "manage.py"]
    for step in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run([*manage, *step, "-v", "0"], cwd=BASE_DIR, env=environ, check=True, timeout=300)
    address = f"127.0.0.1:{free_port()}"
    log = tmp_path / "portal_run.log"
    with log.open("wb") as output:
        portal = subprocess.Popen(
            [*manage, "portal_run", "--address", address, "--workers", "2", "--threads", "2"],
            cwd=BASE_DIR,
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield portal, f"http://{address}", log
    finally:
        if portal.poll() is None:
            for pid in descendants(portal.pid):
                os.kill(pid, signal.SIGKILL)
            portal.kill()
        portal.wait(timeout=10)


def test_portal_run_serves_through_gunicorn_and_sigterm_stops_every_child(
    embedded_portal: tuple[subprocess.Popen[bytes], str, Path],
) -> None:
    portal, base, log = embedded_portal
    wait_for(lambda: "Press Ctrl+C to stop." in log.read_text(), seconds=90, what="the banner")
    banner = log.read_text()
    assert f"Open {base.replace('127.0.0.1', 'localhost')}/ in your browser." in banner
    assert "paula" in banner and "dr.diaz" in banner  # the demo sign-ins

    # Healthy once the jobs loop has recorded its first heartbeat (core.heartbeat).
    wait_for(lambda: fetch(f"{base}/healthz")[0] == 200, seconds=60, what="/healthz to answer ok")
    status, headers, body = fetch(f"{base}/healthz?asked-about=diabetes")
    assert (status, body, headers["Server"]) == (200, b"ok", "gunicorn")
    status, headers, _ = fetch(f"{base}/")
    assert status == 302 and "/account/" in headers["Location"]

    # Static files from WhiteNoise: hashed names (manifest storage) are cached for good.
    _, _, page = fetch(f"{base}/help/")
    stylesheet = re.search(rb'href="(/static/portal/css/portal\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet is not None, page[:500]
    status, headers, css = fetch(base + stylesheet.group(1).decode())
    assert status == 200 and headers["Content-Type"].startswith("text/css") and css
    assert "immutable" in headers["Cache-Control"] and "max-age=315360000" in headers["Cache-Control"]

    children = descendants(portal.pid)
    roles = {
        role: [pid for pid in children if role in command_line(pid)]
        for role in ("gunicorn", "run_worker", "run_jobs")
    }
    assert len(roles["gunicorn"]) == 3, roles  # the master and two workers
    assert len(roles["run_worker"]) == 1 and len(roles["run_jobs"]) == 1

    # The jobs loop dies, then the task worker: the supervisor starts each again.
    for role, what in (("run_jobs", "the jobs loop"), ("run_worker", "the task worker")):
        os.kill(roles[role][0], signal.SIGKILL)
        wait_for(
            lambda role=role: (  # type: ignore[misc]
                [p for p in descendants(portal.pid) if role in command_line(p)] not in ([], roles[role])
            ),
            seconds=30,
            what=f"{what} to be started again",
        )
    children = descendants(portal.pid)

    portal.send_signal(signal.SIGTERM)
    portal.wait(timeout=30)
    wait_for(lambda: not any(alive(pid) for pid in children), seconds=15, what="every child to end")
    assert portal.returncode == 0
    assert "asked-about" not in log.read_text()  # no access log: no request line, no query string


def test_a_helper_that_ends_is_started_again_after_a_growing_pause(tmp_path: Path) -> None:
    quitter = Child("quitter", [sys.executable, "-c", "pass"])
    supervisor = Supervisor([quitter], cwd=tmp_path)
    supervisor.start()
    now = time.monotonic()
    pauses = []
    for _ in range(4):
        assert quitter.process is not None
        quitter.process.wait(timeout=30)
        supervisor._look_after(quitter, now=now)
        pauses.append(quitter.restart_at - now)
        supervisor._look_after(quitter, now=now + 0.5)
        assert quitter.process is None  # not before its pause is over
        now = quitter.restart_at
        supervisor._look_after(quitter, now=now)
    assert pauses == [1.0, 2.0, 4.0, 8.0]
    supervisor.stop()


def test_when_the_web_server_ends_the_portal_stops_everything(tmp_path: Path) -> None:
    web = Child("web server", [sys.executable, "-c", "import sys; sys.exit(4)"], essential=True)
    helper = Child("helper", [sys.executable, "-c", "import time; time.sleep(120)"])
    supervisor = Supervisor([web, helper], cwd=tmp_path)
    supervisor.start()
    assert helper.process is not None
    assert supervisor.watch(poll_seconds=0.05) == 4
    assert helper.process.poll() is not None
