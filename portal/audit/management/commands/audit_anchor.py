import syslog
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.audit.anchors import anchor_path, append_anchor, current_anchor


class Command(BaseCommand):
    help = (
        "Write the audit chain's head (last seal number and hash, with the time) outside the database: "
        "a line appended to PORTAL_AUDIT_ANCHOR_FILE (default), syslog, or stdout (--print) to pipe to a "
        "write-once store. audit_verify then checks the chain still reaches it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--file", help="Append to this file instead of PORTAL_AUDIT_ANCHOR_FILE")
        where.add_argument(
            "--print",
            dest="to_stdout",
            action="store_true",
            help="Print the anchor line on stdout only (to pipe to a write-once store)",
        )
        where.add_argument(
            "--syslog", dest="to_syslog", action="store_true", help="Send the anchor to syslog (LOG_AUTHPRIV)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        anchor = current_anchor()
        if options["to_stdout"]:
            self.stdout.write(anchor.as_line())
            return
        if options["to_syslog"]:
            syslog.openlog("portal-audit-anchor", 0, syslog.LOG_AUTHPRIV)
            syslog.syslog(syslog.LOG_NOTICE, anchor.as_line())
            syslog.closelog()
            self.stdout.write(f"Anchored seal {anchor.seq} to syslog.")
            return
        path = Path(options["file"]) if options["file"] else anchor_path()
        append_anchor(anchor, path)
        if options["verbosity"] > 0:
            self.stdout.write(f"Anchored seal {anchor.seq} to {path}.")
