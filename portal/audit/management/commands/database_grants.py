from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from portal.audit.grants import app_role_grants


class Command(BaseCommand):
    help = (
        "Print the PostgreSQL grants for the role the portal connects as: every table "
        "readable and writable, except the audit log, which it may only read and append to. "
        "Run migrations as the owner role; run the app as this one. --apply runs them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", required=True, help="The role the app servers connect as")
        parser.add_argument("--apply", action="store_true", help="Run the statements now (as the owner)")

    def handle(self, *args: Any, **options: Any) -> None:
        statements = app_role_grants(options["role"])
        if options["apply"]:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        self.stdout.write("\n".join(statements))
