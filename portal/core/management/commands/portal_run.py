from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from portal.clinics.demo import sign_in_lines

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Start the web server and the background worker together (the embedded default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--address", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        address = options["address"]
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "1"],
            cwd=settings.BASE_DIR,
        )
        banner = [
            "",
            f"{settings.PORTAL_NAME} is running.",
            f"Open http://{address.replace('127.0.0.1', 'localhost')}/ in your browser.",
            "",
            *sign_in_lines(),
            "",
            "Press Ctrl+C to stop.",
            "",
        ]
        self.stdout.write("\n".join(banner))
        threading.Thread(target=_sweep_mail, name="mail-sweeper", daemon=True).start()
        threading.Thread(target=_send_daily_digest, name="digest-scheduler", daemon=True).start()
        try:
            call_command("runserver", address, use_reloader=False, skip_checks=True)
        finally:
            worker.terminate()
            worker.wait(timeout=10)


def _sweep_mail() -> None:
    """Every few minutes, queue again any e-mail whose delivery task was lost."""
    from django.db import close_old_connections

    from portal.core.mail import requeue_stalled

    while True:
        time.sleep(300)
        close_old_connections()
        try:
            requeue_stalled()
        except Exception:  # noqa: BLE001 - one failed sweep (a locked database) must not end the sweeping
            logger.exception("the mail sweep failed; it is tried again in five minutes")


def _send_daily_digest() -> None:
    """Every minute: once PORTAL_DIGEST_HOUR has come, send today's digest e-mails unless some
    process (this one before a restart, another portal, or cron's `messaging_digest`) did."""
    from django.db import close_old_connections

    from portal.messaging.notifications import send_daily_digest_if_due

    while True:
        close_old_connections()
        try:
            send_daily_digest_if_due()
        except Exception:  # noqa: BLE001 - the schedule outlives one failed run; a later minute resumes it
            logger.exception("the daily digest failed; it is tried again")
        time.sleep(60)
