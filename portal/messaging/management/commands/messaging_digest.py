from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal.messaging.notifications import send_digests


class Command(BaseCommand):
    help = "Queue the daily digest e-mail for everyone who chose one and has new messages. Run once a day."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Queued {send_digests()} digest e-mail(s).")
