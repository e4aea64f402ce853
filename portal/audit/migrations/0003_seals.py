"""The hash chain moves off the event rows into append-only seals.

Requests now write an event and nothing else that is shared; a sealer chains
committed events afterwards (see portal/audit/log.py). Events written before
this migration were chained in id order with their hashes on their own rows:
each gets a seal in that order holding exactly the hashes it had (copied, not
recomputed, so any tampering done before the upgrade is still found), then the
event table drops its hash columns. The head keeps its last hash and learns
how many seals there are.

Going back copies each seal's hashes onto its event; it refuses while events
wait for a seal (run `manage.py audit_seal` first). The old scheme checks the
chain in id order, so events sealed in another order will not verify there.
"""

import django.db.models.deletion
from django.db import migrations, models

from portal.audit.migrations import _append_only

BATCH = 5000


def seal_existing_events(apps, schema_editor):  # type: ignore[no-untyped-def]
    event_model = apps.get_model("audit", "AuditEvent")
    seal_model = apps.get_model("audit", "AuditSeal")
    head_model = apps.get_model("audit", "AuditChainHead")
    seq, last_id = 0, 0
    while True:
        batch = list(
            event_model.objects.filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", "previous_hash", "row_hash")[:BATCH]
        )
        if not batch:
            break
        seals = []
        for event_id, previous_hash, row_hash in batch:
            seq += 1
            seals.append(
                seal_model(seq=seq, event_id=event_id, previous_hash=previous_hash, row_hash=row_hash)
            )
        seal_model.objects.bulk_create(seals)
        last_id = batch[-1][0]
    head = head_model.objects.filter(pk=1).first()
    if head is not None:
        head.last_seq = seq
        head.save(update_fields=["last_seq"])


def copy_hashes_back(apps, schema_editor):  # type: ignore[no-untyped-def]
    event_model = apps.get_model("audit", "AuditEvent")
    seal_model = apps.get_model("audit", "AuditSeal")
    if apps.get_model("audit", "AuditUnsealed").objects.exists():
        raise RuntimeError("audit events are waiting for a seal: run manage.py audit_seal, then migrate back")
    for seal in seal_model.objects.order_by("seq").iterator(chunk_size=BATCH):
        event_model.objects.filter(pk=seal.event_id).update(
            previous_hash=seal.previous_hash, row_hash=seal.row_hash
        )


def guard_seals(apps, schema_editor):  # type: ignore[no-untyped-def]
    # SQLite rebuilds the event table to drop a unique column, which drops its triggers too.
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        _append_only.remove(vendor, cursor, tables=["audit_auditevent"])
        _append_only.install(vendor, cursor, tables=["audit_auditevent", "audit_auditseal"])


def unguard_seals(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Going back writes the hashes onto the events: the triggers come back at the end.
    with schema_editor.connection.cursor() as cursor:
        _append_only.remove(schema_editor.connection.vendor, cursor)


def guard_events(apps, schema_editor):  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        _append_only.install(schema_editor.connection.vendor, cursor, tables=["audit_auditevent"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, guard_events, elidable=False),
        migrations.AddField(
            model_name="auditchainhead",
            name="last_seq",
            field=models.BigIntegerField(default=0),
        ),
        migrations.CreateModel(
            name="AuditSeal",
            fields=[
                ("seq", models.BigIntegerField(primary_key=True, serialize=False)),
                ("previous_hash", models.CharField(max_length=64)),
                ("row_hash", models.CharField(max_length=64)),
                (
                    "event",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="seal",
                        to="audit.auditevent",
                    ),
                ),
            ],
            options={"ordering": ["seq"]},
        ),
        migrations.CreateModel(
            name="AuditUnsealed",
            fields=[("event_id", models.BigIntegerField(primary_key=True, serialize=False))],
        ),
        # Nullable and no longer unique before the hashes move, so that going back can add the
        # columns to a full table, fill them, and only then make them required again.
        migrations.AlterField(
            model_name="auditevent", name="row_hash", field=models.CharField(max_length=64, null=True)
        ),
        migrations.AlterField(
            model_name="auditevent", name="previous_hash", field=models.CharField(max_length=64, null=True)
        ),
        migrations.RunPython(seal_existing_events, copy_hashes_back, elidable=False),
        migrations.RemoveField(model_name="auditevent", name="previous_hash"),
        migrations.RemoveField(model_name="auditevent", name="row_hash"),
        migrations.RunPython(guard_seals, unguard_seals, elidable=False),
    ]
