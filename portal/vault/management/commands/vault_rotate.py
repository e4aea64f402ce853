from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.vault.rotation import rotate_kek


class Command(BaseCommand):
    help = (
        "Rotate the key-encryption key: make a new one, re-wrap every patient's data key, "
        "retire the old key once nothing uses it. Resumes a run that was killed; safe to run twice. "
        "A data key that does not unwrap is named and skipped; the run then ends with a non-zero "
        "status and the rotation stays open for the next run."
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
        if report.finished:
            self.stdout.write(
                f"{verb} rotation to {report.new_kek_id}: {report.rewrapped} data keys re-wrapped, "
                f"{len(report.retired)} old key(s) retired."
            )
            return
        failed = ", ".join(str(pk) for pk in report.failed)
        self.stdout.write(
            f"{verb} rotation to {report.new_kek_id}: {report.rewrapped} data keys re-wrapped, "
            f"{len(report.failed)} could not be unwrapped (data key ids: {failed}), "
            f"{len(report.retired)} old key(s) retired. The rotation is not finished."
        )
        raise CommandError(
            f"{len(report.failed)} data key(s) could not be unwrapped: ids {failed}. The others are "
            "re-wrapped; the key-encryption keys the failed ones name are kept. Restore those data keys "
            "(vault_datakey rows) or their key-encryption key from backup, then run vault_rotate again: "
            "it resumes this rotation and retries only them.",
            returncode=1,
        )
