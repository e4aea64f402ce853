"""Record.available_at: when the EHR released a result or note, which a release hold counts from.

Rows imported before it get their `effective_at` (else their import time): the `issued` and
`date` that later imports read are inside the sealed JSON, which a migration does not open.
A result is issued at or after its effective time, so such a row's hold may end early by that
gap, never late; a bundle imported again with a change sets the exact time."""

from typing import Any

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Coalesce


def fill(apps: Any, schema_editor: Any) -> None:
    Record = apps.get_model("records", "Record")
    Record.objects.update(available_at=Coalesce(F("effective_at"), F("imported_at")))


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0002_medication_is_a_directory_resource"),
    ]

    operations = [
        migrations.AddField(
            model_name="record",
            name="available_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="record",
            name="available_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="When the EHR released it: a result's or report's `issued`, a note's `date`, else"
                " `effective_at`, else its first import. A release hold (portal.records.release) counts from"
                " here.",
            ),
        ),
    ]
