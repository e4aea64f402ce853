from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

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

    def handle(self, *args: Any, **options: Any) -> None:
        if options["seal"]:
            seal_pending()
        checked, broken = verify_chain()
        if broken is not None:
            raise CommandError(
                f"Audit chain broken at event {broken.event_id}: {broken.reason}. "
                f"{checked} events before it are intact."
            )
        self.stdout.write(f"Audit chain intact: {checked} events verified.")
        waiting = count_waiting()
        if waiting:
            self.stdout.write(f"{waiting} newer events are waiting to be sealed (not a break).")
