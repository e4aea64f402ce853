"""Django's `flush`, made able to empty a database whose audit log refuses DELETE.

The test suite flushes between transactional tests. The append-only triggers
stay in force for everything else; this command lifts them only for the
flush itself, and never with PORTAL_ENV=production, where the audit log must
outlive any reset.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import flush
from django.db import connections

from portal.audit.migrations import _append_only


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("flush is refused with PORTAL_ENV=production: the audit log is append-only.")
        connection = connections[options["database"]]
        with connection.cursor() as cursor:
            _append_only.lift(connection.vendor, cursor)
        try:
            super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                _append_only.restore(connection.vendor, cursor)
