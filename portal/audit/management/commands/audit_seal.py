from typing import Any

from django.core.management.base import BaseCommand

from portal.audit.log import seal_pending


class Command(BaseCommand):
    help = (
        "Chain audit events written but not sealed yet. Each request seals after it commits; "
        "run this every few seconds as a safety net. Returns at once if another sealer is at work."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sealed = seal_pending()
        if options["verbosity"] > 1 or sealed:
            self.stdout.write(f"Sealed {sealed} audit events.")
