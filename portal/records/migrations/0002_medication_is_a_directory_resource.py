"""A Medication is the EHR's formulary entry for a product, shared by every patient prescribed it:
a directory row (`SharedResource`), no longer a patient's `Record`. Medications already kept as a
patient's records are moved to the directory (opened with that patient's key), once each."""

import json
from typing import Any

from django.db import migrations, models

IDENTIFIER_LENGTH = 300


def _words(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    codings = concept.get("coding") or [{}]
    first = codings[0] if isinstance(codings[0], dict) else {}
    return str(first.get("display", ""))


def move_medications(apps: Any, schema_editor: Any) -> None:
    """Every Record of kind Medication becomes a SharedResource (if none has its id yet), then goes."""
    from portal.vault.crypto import Binding, CiphertextRejected, keyring

    record_model = apps.get_model("records", "Record")
    shared_model = apps.get_model("records", "SharedResource")
    identifier_model = apps.get_model("records", "SharedIdentifier")
    moved = []
    for row in record_model.objects.filter(kind="Medication").order_by("pk").iterator():
        try:
            text = keyring(row.patient_id).open(Binding.of(row, "resource"), bytes(row.resource))
        except CiphertextRejected:
            continue  # already reported by the vault; the row stays where it was, unread
        resource = json.loads(text)
        shared, created = shared_model.objects.get_or_create(
            kind="Medication",
            fhir_id=row.fhir_id,
            defaults={
                "version_id": row.version_id,
                "last_updated": row.last_updated,
                "content_hash": row.content_hash,
                "name": _words(resource.get("code"))[:300],
                "status": row.status,
                "resource": resource,
            },
        )
        if created:
            identifier_model.objects.bulk_create(
                identifier_model(
                    shared_id=shared.pk,
                    kind="Medication",
                    system=str(i.get("system", ""))[:IDENTIFIER_LENGTH],
                    value=str(i["value"])[:IDENTIFIER_LENGTH],
                )
                for i in resource.get("identifier") or []
                if isinstance(i, dict) and isinstance(i.get("value"), str)
            )
        moved.append(row.pk)
    record_model.objects.filter(pk__in=moved).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0001_initial"),
        ("vault", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="record",
            name="kind",
            field=models.CharField(
                choices=[
                    ("Encounter", "Encounter"),
                    ("Condition", "Condition"),
                    ("AllergyIntolerance", "Allergy"),
                    ("Immunization", "Immunization"),
                    ("Observation", "Observation"),
                    ("DiagnosticReport", "Diagnostic report"),
                    ("DocumentReference", "Document"),
                    ("ImagingStudy", "Imaging study"),
                    ("Procedure", "Procedure"),
                    ("MedicationRequest", "Prescription"),
                    ("MedicationDispense", "Dispense"),
                    ("MedicationAdministration", "Administration"),
                    ("MedicationStatement", "Medication statement"),
                    ("Appointment", "Appointment"),
                    ("AppointmentResponse", "Appointment response"),
                    ("CareTeam", "Care team"),
                    ("CarePlan", "Care plan"),
                    ("Goal", "Goal"),
                    ("Device", "Device"),
                ],
                max_length=40,
            ),
        ),
        migrations.AlterField(
            model_name="sharedresource",
            name="kind",
            field=models.CharField(
                choices=[
                    ("Organization", "Organization"),
                    ("Location", "Location"),
                    ("Practitioner", "Practitioner"),
                    ("PractitionerRole", "Practitioner Role"),
                    ("Schedule", "Schedule"),
                    ("Slot", "Slot"),
                    ("Medication", "Medication"),
                ],
                max_length=40,
            ),
        ),
        migrations.AlterField(
            model_name="sharedresource",
            name="name",
            field=models.CharField(
                blank=True,
                help_text="A person's or a place's name; a medication's product name",
                max_length=300,
            ),
        ),
        migrations.RunPython(move_medications, migrations.RunPython.noop),
    ]
