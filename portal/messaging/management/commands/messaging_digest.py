from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.messaging.notifications import send_daily_digest


class Command(BaseCommand):
    help = (
        "Queue today's digest e-mail for everyone who chose one and has new messages. "
        "`manage.py portal_run` does this by itself at PORTAL_DIGEST_HOUR; this command is for "
        "operators who schedule it with cron instead. Either way it runs once a day: a second "
        "run the same day does nothing unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run again today, for the notices that came since today's run (nobody gets the same notice twice).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = send_daily_digest(force=options["force"])
        if outcome.ran:
            self.stdout.write(f"Queued {outcome.result} for the digest of {outcome.run.day:%Y-%m-%d}.")
        else:
            self.stdout.write(f"Nothing queued: {outcome.why_not}. Use --force to run it again.")
