from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.audit.anchors import AnchorUnreadable, anchor_path, check_anchor, latest_anchor
from portal.audit.log import count_waiting, seal_pending, verify_chain


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
        if options["seal"]:
            seal_pending()
        checked, broken = verify_chain()
        if broken is not None:
            raise CommandError(
                f"Audit chain broken at event {broken.event_id}: {broken.reason}. "
                f"{checked} events before it are intact."
            )
        path = Path(options["anchor"]) if options["anchor"] else anchor_path()
        try:
            anchor = latest_anchor(path)
        except AnchorUnreadable as unreadable:
            raise CommandError(str(unreadable)) from None
        if anchor is not None:
            problem = check_anchor(anchor)
            if problem is not None:
                raise CommandError(f"Audit chain does not match its anchor: {problem}.")
        self.stdout.write(f"Audit chain intact: {checked} events verified.")
        if anchor is not None:
            self.stdout.write(f"It reaches the latest anchor (seal {anchor.seq}, {anchor.at}).")
        waiting = count_waiting()
        if waiting:
            self.stdout.write(f"{waiting} newer events are waiting to be sealed (not a break).")
