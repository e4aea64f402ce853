"""`manage.py portal_run`: the embedded portal, ready for a small clinic as it is.

Three processes, kept running by `portal.home.supervisor`: the web server (gunicorn, static
files from WhiteNoise), the task worker (`run_worker`: e-mail delivery; it waits out a database
outage, and is started again if it ends all the same) and the periodic jobs
(`run_jobs --loop`: the daily digest, the mail sweep). `--dev` serves through Django's
development server instead, reloading on every code change (`make dev`).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.clinics.demo import sign_in_lines
from portal.home.supervisor import Child, Supervisor

STARTUP_SECONDS = 60.0


def web_workers() -> int:
    """Two to four gunicorn processes: enough for a small clinic, light on a small machine."""
    return min(4, max(2, os.cpu_count() or 2))


class Command(BaseCommand):
    help = (
        "Start the web server, the background worker and the periodic jobs together (the embedded default)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--address", default="127.0.0.1:8000", help="host:port to serve on")
        parser.add_argument("--workers", type=int, default=None, help="gunicorn processes (2 to 4 by CPUs)")
        parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn process")
        parser.add_argument(
            "--dev", action="store_true", help="Django's development server, reloading on code changes"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        address: str = options["address"]
        if not options["dev"] and sys.platform == "win32":
            # gunicorn needs a POSIX system; on Windows serve with `--dev` (or cheroot, by hand).
            raise CommandError("gunicorn does not run on Windows: use `manage.py portal_run --dev`.")
        web = (
            [sys.executable, "manage.py", "runserver", address, "--skip-checks"]
            if options["dev"]
            else gunicorn(address, workers=options["workers"] or web_workers(), threads=options["threads"])
        )
        supervisor = Supervisor(
            [
                Child("web server", web, essential=True),
                Child(
                    "task worker",
                    [sys.executable, "manage.py", "run_worker", "--no-reload", "--interval", "1"],
                ),
                Child("periodic jobs", [sys.executable, "manage.py", "run_jobs", "--loop"]),
            ],
            cwd=settings.BASE_DIR,
        )
        supervisor.stop_on_signals()
        supervisor.start()
        if not wait_until_serving(address, supervisor):
            supervisor.stop()
            raise CommandError(f"The web server did not start on {address}; its messages are above.")
        self.stdout.write("\n".join(banner(address)))
        self.stdout.flush()
        code = supervisor.watch()
        if code:
            raise CommandError(f"The web server ended (exit status {code}).", returncode=code)


def gunicorn(address: str, *, workers: int, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "portal.wsgi",
        "--bind",
        address,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        # No access log: a request line is nobody's business (and URLs never carry health data).
        "--log-level",
        "warning",
        "--graceful-timeout",
        "5",
        # The default control socket is one path per user: two portals on one machine would share it.
        "--no-control-socket",
    ]


def wait_until_serving(address: str, supervisor: Supervisor) -> bool:
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + STARTUP_SECONDS
    web = supervisor.children[0]
    while time.monotonic() < deadline and web.running and not supervisor.stopping.is_set():
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=1):
                return True
        except OSError:
            supervisor.stopping.wait(0.1)
    return False


def banner(address: str) -> list[str]:
    return [
        "",
        f"{settings.PORTAL_NAME} is running.",
        f"Open http://{address.replace('127.0.0.1', 'localhost')}/ in your browser.",
        "",
        *sign_in_lines(),
        "",
        "Press Ctrl+C to stop.",
        "",
    ]
