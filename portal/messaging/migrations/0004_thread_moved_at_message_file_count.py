"""Thread.moved_at and Message.file_count: what the thread page used to ask per opening, on the row."""

from typing import Any

from django.db import migrations, models
from django.db.models import Count, Max, OuterRef, Subquery


def fill(apps: Any, schema_editor: Any) -> None:
    Attachment = apps.get_model("messaging", "Attachment")
    Message = apps.get_model("messaging", "Message")
    Thread = apps.get_model("messaging", "Thread")
    ThreadEvent = apps.get_model("messaging", "ThreadEvent")
    files = (
        Attachment.objects.filter(message=OuterRef("pk"))
        .order_by()
        .values("message")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Message.objects.filter(pk__in=Attachment.objects.filter(message__isnull=False).values("message")).update(
        file_count=Subquery(files)
    )
    moves = (
        ThreadEvent.objects.filter(thread=OuterRef("pk"), kind="moved")
        .order_by()
        .values("thread")
        .annotate(at=Max("at"))
        .values("at")
    )
    Thread.objects.filter(pk__in=ThreadEvent.objects.filter(kind="moved").values("thread")).update(
        moved_at=Subquery(moves)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0003_draft_add_signature"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="file_count",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="thread",
            name="moved_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
