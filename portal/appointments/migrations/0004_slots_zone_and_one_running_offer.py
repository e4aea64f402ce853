"""The schedule's own zone becomes the zone its open slots were made in (the hospital's is the
clock; a schedule whose slots were made on another is made again), and at most one waitlist
offer of a slot runs: an offer that was neither taken nor running (it expired) is marked lapsed, and
where two ran at once for one slot the first made keeps running; then the partial unique
constraint holds."""

from typing import Any

from django.db import migrations, models
from django.db.models import Q
from django.utils import timezone


def close_ended_offers(apps: Any, schema_editor: Any) -> None:
    WaitlistOffer = apps.get_model("appointments", "WaitlistOffer")
    WaitlistOffer.objects.filter(taken=False, expires_at__lte=timezone.now()).update(lapsed=True)
    running = WaitlistOffer.objects.filter(taken=False, lapsed=False).order_by("slot_id", "offered_at", "pk")
    seen = set()
    for offer in running:
        if offer.slot_id in seen:
            WaitlistOffer.objects.filter(pk=offer.pk).update(lapsed=True)
        seen.add(offer.slot_id)


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0003_hospital_takes_the_zone"),
    ]

    operations = [
        migrations.RenameField(model_name="teamschedule", old_name="time_zone", new_name="slots_zone"),
        migrations.AlterField(
            model_name="teamschedule",
            name="slots_zone",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="waitlistoffer",
            name="lapsed",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(close_ended_offers, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="waitlistoffer",
            constraint=models.UniqueConstraint(
                condition=Q(lapsed=False, taken=False),
                fields=("slot",),
                name="appointments_one_running_offer",
            ),
        ),
    ]
