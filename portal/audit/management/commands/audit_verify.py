from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.audit.reading import check_chain


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chain and name the first broken row. Reads only, so it "
        "can run as a read-only role or on a replica; --seal first chains events waiting for a seal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seal", action="store_true", help="Seal pending events first (needs the app's write access)"
        )
        parser.add_argument(
            "--anchor",
            help="The anchor file to check against (default PORTAL_AUDIT_ANCHOR_FILE; its last line counts)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        anchor_file = Path(options["anchor"]) if options["anchor"] else None
        report = check_chain(seal=options["seal"], anchor_file=anchor_file)
        if report.problem is not None:
            raise CommandError(report.problem)
        for line in report.findings:
            self.stdout.write(line)
