from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.audit.reading import events_of


class Command(BaseCommand):
    help = "Show audit events, newest first: who looked at or changed what, and when."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patient", type=int, help="Only events for this patient id")
        parser.add_argument("--actor", type=int, help="Only events by this user id")
        parser.add_argument("--limit", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        events = events_of(patient_id=options["patient"], actor_id=options["actor"], limit=options["limit"])
        for event in events:
            self.stdout.write(
                f"{event.pk:>8} {event.occurred_at:%Y-%m-%d %H:%M:%S}Z {event.action:<28} "
                f"{event.outcome:<8} actor={event.actor_id} patient={event.patient_id} "
                f"{event.object_type}:{event.object_id} from={event.client_address}"
            )
