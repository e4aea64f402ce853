"""E-mail delivery records its attempt before sending: the `sending` status and `attempted_at`
replace the send lease; each e-mail keeps one stored Message-ID.

The rows already there keep the Message-ID they were (or would have been) sent with,
`<portal-{pk}@portal.invalid>`, so a retry of an old e-mail still matches its first copy.
A row a worker was sending when the portal stopped becomes `sending`, so it waits for the
hold before it is sent again.
"""

from datetime import timedelta

from django.db import migrations, models
from django.db.models import F, Value
from django.db.models.functions import Cast, Concat

import portal.core.models

# The lease 0002 gave a worker sending an e-mail: its attempt began this long before the lease ended.
SEND_LEASE_WAS = timedelta(minutes=5)


def fill_message_ids(apps, schema_editor):  # type: ignore[no-untyped-def]
    OutgoingEmail = apps.get_model("core", "OutgoingEmail")  # noqa: N806 - a model class
    OutgoingEmail.objects.update(
        message_id=Concat(Value("<portal-"), Cast(F("pk"), models.CharField()), Value("@portal.invalid>"))
    )
    OutgoingEmail.objects.filter(status="queued", lease_until__isnull=False).update(
        status="sending", attempted_at=F("lease_until") - SEND_LEASE_WAS
    )


def keep_leases(apps, schema_editor):  # type: ignore[no-untyped-def]
    OutgoingEmail = apps.get_model("core", "OutgoingEmail")  # noqa: N806 - a model class
    OutgoingEmail.objects.filter(status="sending").update(
        status="queued", lease_until=F("attempted_at") + SEND_LEASE_WAS
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_job_run"),
    ]

    operations = [
        migrations.AddField(
            model_name="outgoingemail",
            name="attempted_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the latest attempt began (recorded before talking to the relay)",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="outgoingemail",
            name="message_id",
            field=models.CharField(default="", editable=False, max_length=200),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="outgoingemail",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("sending", "Sending"),
                    ("sent", "Sent"),
                    ("failed", "Failed"),
                ],
                default="queued",
                max_length=10,
            ),
        ),
        migrations.RunPython(fill_message_ids, keep_leases),
        migrations.AlterField(
            model_name="outgoingemail",
            name="message_id",
            field=models.CharField(
                default=portal.core.models.new_message_id, editable=False, max_length=200, unique=True
            ),
        ),
        migrations.RemoveField(
            model_name="outgoingemail",
            name="lease_until",
        ),
    ]
