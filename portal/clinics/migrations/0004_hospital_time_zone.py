from django.db import migrations, models

import portal.clinics.models


class Migration(migrations.Migration):
    dependencies = [
        ("clinics", "0003_console_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="hospital",
            name="time_zone",
            field=models.CharField(
                default=portal.clinics.models.portal_zone,
                help_text="Where the hospital is, as a zone name such as America/New_York: its clinics' times.",
                max_length=64,
                validators=[portal.clinics.models.validate_time_zone],
            ),
        ),
    ]
