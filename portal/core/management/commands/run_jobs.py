from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.core import jobs


class Command(BaseCommand):
    help = (
        "Run the portal's periodic jobs (the daily digest, the mail sweep, ...). Without options, "
        "every job that is due runs once and the command exits: run it every minute from cron or "
        "a systemd timer (deploy/systemd/). Each job runs once per period however many hosts do this."
    )
    verbosity = 1

    def add_arguments(self, parser: CommandParser) -> None:
        what = parser.add_mutually_exclusive_group()
        what.add_argument("--list", action="store_true", help="List the jobs, their periods and last runs.")
        what.add_argument(
            "--job", metavar="NAME", help="Run this one job now, unless it already ran in this period."
        )
        what.add_argument("--loop", action="store_true", help="Keep running the due jobs every minute.")
        parser.add_argument(
            "--force", action="store_true", help="With --job: run it even if it already ran in this period."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        if options["force"] and not options["job"]:
            raise CommandError("--force goes with --job NAME")
        if options["list"]:
            self._list()
        elif options["job"]:
            self._run_one(options["job"], force=options["force"])
        elif options["loop"]:
            self._loop()
        else:
            self._run_due()

    def _list(self) -> None:
        for job in jobs.registered():
            due = "due now" if jobs.is_due(job) else "not due"
            self.stdout.write(f"{job.name:<20} {job.period!s:<28} last run: {jobs.last_run(job)} ({due})")

    def _run_one(self, name: str, *, force: bool) -> None:
        try:
            job = jobs.get(name)
        except LookupError as error:
            raise CommandError(str(error)) from None
        outcome = jobs.run(job, force=force)
        if outcome.ran:
            self.stdout.write(f"{job.name}: {outcome.result}")
        else:
            self.stdout.write(f"{job.name} not run: {outcome.result}. Use --force to run it again.")

    def _run_due(self) -> None:
        outcomes = jobs.run_due()
        for outcome in outcomes:
            if outcome.error is not None:
                self.stderr.write(f"{outcome.job} failed: {outcome.result}")
            elif outcome.ran and self.verbosity >= 1:
                self.stdout.write(f"{outcome.job}: {outcome.result}")
        failed = [outcome.job for outcome in outcomes if outcome.error is not None]
        if failed:
            raise CommandError(f"{len(failed)} job(s) failed: {', '.join(failed)}")

    def _loop(self) -> None:
        stop = threading.Event()

        def finish(signum: int, frame: FrameType | None) -> None:
            stop.set()

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, finish)
        jobs.run_forever(stop=stop)
