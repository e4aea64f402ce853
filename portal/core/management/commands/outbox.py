from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.core.delivery import delivery_log
from portal.core.mail import requeue_stalled


def mail_files() -> list[Path]:
    directory = Path(settings.PORTAL_MAIL_DIR)
    return sorted(directory.glob("*.eml"), reverse=True) if directory.exists() else []


class Command(BaseCommand):
    help = (
        "List the e-mails the portal wrote to var/mail (newest first), show one "
        "(`outbox show 1`), print the delivery log (`outbox log`), or queue again the "
        "e-mails whose delivery task was lost (`outbox requeue`; the job core.mail_sweep does it every minute)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("verb", nargs="?", default="list", choices=["list", "show", "log", "requeue"])
        parser.add_argument("number", nargs="?", type=int, default=1, help="1 is the newest")
        parser.add_argument("--limit", type=int, default=20)

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "log":
            self._log(options["limit"])
            return
        if verb == "requeue":
            self.stdout.write(f"Queued again: {requeue_stalled()} e-mail(s).")
            return
        files = mail_files()
        if verb == "show":
            self._show(files, options["number"])
            return
        if not files:
            self.stdout.write(f"No e-mail in {settings.PORTAL_MAIL_DIR} yet.")
        for number, path in enumerate(files[: options["limit"]], start=1):
            message = _parse(path)
            self.stdout.write(f"{number:>3}  {message['Date']}  to {message['To']}  {message['Subject']}")

    def _show(self, files: list[Path], number: int) -> None:
        if not 1 <= number <= len(files):
            raise CommandError(f"There is no e-mail number {number}; `outbox list` shows {len(files)}.")
        message = _parse(files[number - 1])
        for header in ("Date", "From", "To", "Subject"):
            self.stdout.write(f"{header}: {message[header]}")
        body = message.get_body(preferencelist=("plain",))
        self.stdout.write("")
        self.stdout.write(body.get_content() if body is not None else "(no text part)")

    def _log(self, limit: int) -> None:
        for row in delivery_log(limit=limit):
            sent = f"{row.sent_at:%Y-%m-%d %H:%M:%S}" if row.sent_at else "-"
            # A queued e-mail that has failed before waits for its retry: say when. An attempt
            # under way, or one whose worker died: since when (it is held, then resent).
            next_try = f" next={row.retry_at:%Y-%m-%d %H:%M:%S}" if row.retry_at else ""
            if row.sending_since is not None:
                next_try = f" since={row.sending_since:%Y-%m-%d %H:%M:%S}"
            self.stdout.write(
                f"{row.id:>6} {row.created_at:%Y-%m-%d %H:%M:%S} {row.status:<7} "
                f"attempts={row.attempts} sent={sent}{next_try} {row.template} {row.last_error}"
            )


def _parse(path: Path) -> email.message.EmailMessage:
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message
