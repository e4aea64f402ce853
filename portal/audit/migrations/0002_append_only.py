"""The audit log is append-only at the database: UPDATE and DELETE raise.

On PostgreSQL a trigger refuses them (and TRUNCATE) for every role, the app's
own included. On SQLite (the embedded default) triggers do the same.
"""

from django.db import migrations

from portal.audit.migrations import _append_only


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        _append_only.install(schema_editor.connection.vendor, cursor, tables=["audit_auditevent"])


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        _append_only.remove(schema_editor.connection.vendor, cursor, tables=["audit_auditevent"])
        _append_only.drop_function(schema_editor.connection.vendor, cursor)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
