"""`manage.py demo_data`: the demo world, then the demo health records (`make run` and `make dev`).

It sits at the top layer because it gathers two: the clinics, care teams, staff and
patients (`portal.clinics.demo`), and their health records, imported through the FHIR
import (`portal.records.demo`). Both are idempotent: a second run changes nothing.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.appointments import demo as appointments
from portal.clinics import demo as people
from portal.medications import demo as medications
from portal.records import demo as records


class Command(BaseCommand):
    help = (
        "Create the demo clinics, care teams, staff and patients, and import their demo health "
        "records (safe to run twice)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded with PORTAL_ENV=production.")
        created = people.load()
        self.stdout.write("Demo data created." if created else "Demo data already present; nothing changed.")
        medications.load_pharmacies()
        try:
            loaded = records.load()
        except records.DemoRefused as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(loaded.said())
        medications.load_requests()
        appointments.load()  # bookings for the demo patients, templates for every team
