from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.clinics import demo


class Command(BaseCommand):
    help = "Create the demo clinics, care teams, staff and patients (safe to run twice)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded with PORTAL_ENV=production.")
        created = demo.load()
        self.stdout.write("Demo data created." if created else "Demo data already present; nothing changed.")
