"""`manage.py fhir_client --create NAME | --revoke NAME | --list`: systems that push to /fhir/import."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.core.acting import Refused
from portal.records.actions import do_create_fhir_client, do_revoke_fhir_client
from portal.records.models import FhirClient


class Command(BaseCommand):
    help = "Make (the token is printed once), revoke or list the clients allowed to POST bundles to /fhir/import."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--create", metavar="NAME")
        group.add_argument("--revoke", metavar="NAME")
        group.add_argument("--list", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["create"]:
                client, token = do_create_fhir_client(name=options["create"])
                self.stdout.write(f"Client {client.name} made. Its bearer token, shown this once:")
                self.stdout.write(token)
            elif options["revoke"]:
                do_revoke_fhir_client(name=options["revoke"])
                self.stdout.write(f"Client {options['revoke']} revoked.")
            else:
                for client in FhirClient.objects.order_by("name"):
                    state = "revoked" if client.revoked_at else "active"
                    self.stdout.write(f"{client.name}\t{state}\tlast used {client.last_used_at or 'never'}")
        except Refused as refused:
            raise CommandError(refused.message) from None
