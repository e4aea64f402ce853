from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.vault.rotation import rotate_kek


class Command(BaseCommand):
    help = (
        "Rotate the key-encryption key: make a new one, re-wrap every patient's data key, "
        "retire the old key once nothing uses it. Resumes a run that was killed; safe to run twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--pause",
            type=float,
            default=0.0,
            help="seconds to wait between batches, to spare a busy database",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(done: int) -> None:
            self.stdout.write(f"re-wrapped {done} data keys")
            self.stdout.flush()
            if options["pause"]:
                time.sleep(options["pause"])

        report = rotate_kek(batch_size=options["batch_size"], after_batch=progress)
        verb = "Resumed" if report.resumed else "Started"
        self.stdout.write(
            f"{verb} rotation to {report.new_kek_id}: {report.rewrapped} data keys re-wrapped, "
            f"{len(report.retired)} old key(s) retired."
        )
