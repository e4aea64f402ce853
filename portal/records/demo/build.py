"""Building blocks of a demo record: FHIR R4 resources as plain dicts, one patient at a time.

`Chart` gathers one patient's resources as the EHR would send them: each has a stable id
(`demo-<patient>-<kind>-<date>-<n>`), a `meta.lastUpdated` of when it was recorded, and
references by `Type/id` (to the patient's own resources, and to the demo directory bundle's
practitioners, organization and locations, imported first). Every value is decided by the
caller or by the chart's own seeded random, so the same code makes the same JSON each run.
"""

from __future__ import annotations

import base64
import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings

from portal.records.demo import codes
from portal.records.demo.codes import Test

Json = dict[str, Any]
BASE = "https://ehr.fort-example.demo/fhir"  # where the demo EHR says its resources live
# DICOM UIDs under the 2.25 root are UUIDs written as one integer; these are made from names.
UID_NAMESPACE = uuid.UUID("6f0c1b8e-5d2a-4c61-9a57-3d1f4f2b7e10")


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def concept(system: str, code: str, display: str, *, text: str | None = None) -> Json:
    found: Json = {"coding": [{"system": system, "code": code, "display": display}]}
    if text:
        found["text"] = text
    return found


def quantity(value: float, unit: str) -> Json:
    return {"value": value, "unit": unit, "system": codes.UCUM, "code": unit}


def ref(kind: str, fhir_id: str, display: str | None = None) -> Json:
    found: Json = {"reference": f"{kind}/{fhir_id}"}
    if display:
        found["display"] = display
    return found


# The pharmacy that fills the demo prescriptions (an Organization: dispenseRequest.performer), and
# the extension that marks a controlled substance's DEA schedule (portal.medications.feed reads it).
OUTPATIENT_PHARMACY: Json = {
    "reference": "Organization/demo-outpatient-pharmacy",
    "display": "Fort Example Outpatient Pharmacy",
}
CONTROLLED_EXTENSION = "http://portal.example.mil/fhir/StructureDefinition/controlled-substance-schedule"


def dicom_uid(name: str) -> str:
    return f"2.25.{uuid.uuid5(UID_NAMESPACE, name).int}"


def attachment(text: str, *, charset: str = "utf-8", title: str = "") -> Json:
    found: Json = {
        "contentType": f"text/plain; charset={charset}",
        "data": base64.b64encode(text.encode(charset)).decode("ascii"),
    }
    if title:
        found["title"] = title
    return found


def rounded(value: float, decimals: int) -> float | int:
    return round(value) if decimals == 0 else round(value, decimals)


class Chart:
    """One demo patient's record, resource by resource."""

    def __init__(self, *, slug: str, dod_id: str, given: str, family: str, born: date, gender: str) -> None:
        self.slug = slug
        # Demo values, not secrets; a str seed gives the same numbers on every run and machine.
        self.rng = random.Random(f"portal-demo-record-{slug}")  # noqa: S311
        self.resources: list[Json] = []
        self._numbers: Counter[str] = Counter()
        self.patient = ref("Patient", f"demo-{slug}", f"{given} {family}")
        self._add(
            {
                "resourceType": "Patient",
                "id": f"demo-{slug}",
                "identifier": [
                    {
                        "use": "official",
                        "type": {"text": "DoD ID number"},
                        "system": settings.PORTAL_FHIR_DOD_ID_SYSTEM,
                        "value": dod_id,
                    }
                ],
                "active": True,
                "name": [{"use": "official", "family": family, "given": [given]}],
                "gender": gender,
                "birthDate": born.isoformat(),
            },
            datetime(2021, 1, 4, 8, 0, tzinfo=UTC),
        )

    # -- identity ------------------------------------------------------------------------------

    def _id(self, kind: str, moment: datetime) -> str:
        stem = f"demo-{self.slug}-{kind}-{moment:%Y%m%d}"
        self._numbers[stem] += 1
        return f"{stem}-{self._numbers[stem]}"

    def _add(self, resource: Json, recorded: datetime) -> Json:
        resource["meta"] = {"versionId": "1", "lastUpdated": instant(recorded)}
        self.resources.append(resource)
        return ref(resource["resourceType"], resource["id"])

    def noise(self, spread: float) -> float:
        return self.rng.uniform(-spread, spread)

    # -- visits --------------------------------------------------------------------------------

    def encounter(
        self,
        moment: datetime,
        *,
        kind: tuple[str, str],
        practitioner: Json,
        location: Json,
        reason: tuple[str, str] | None = None,
        minutes: int = 30,
        klass: tuple[str, str] = ("AMB", "ambulatory"),
    ) -> Json:
        resource: Json = {
            "resourceType": "Encounter",
            "id": self._id("visit", moment),
            "status": "finished",
            "class": {"system": codes.ACT_CODE, "code": klass[0], "display": klass[1]},
            "type": [concept(codes.SNOMED, kind[0], kind[1], text=kind[1])],
            "subject": self.patient,
            "participant": [{"individual": practitioner}],
            "period": {"start": instant(moment), "end": instant(moment + timedelta(minutes=minutes))},
            "location": [{"location": location}],
            "serviceProvider": ref("Organization", "demo-fort-example", "Fort Example Army Medical Center"),
        }
        if reason is not None:
            resource["reasonCode"] = [concept(codes.SNOMED, reason[0], reason[1], text=reason[1])]
        return self._add(resource, moment + timedelta(minutes=minutes))

    def _observation(
        self, moment: datetime, encounter: Json, category: str, code: tuple[str, str], **more: Any
    ) -> Json:
        return {
            "resourceType": "Observation",
            "id": self._id("obs", moment),
            "status": "final",
            "category": [
                concept(codes.OBSERVATION_CATEGORY, category, category.replace("-", " ").capitalize())
            ],
            "code": concept(codes.LOINC, code[0], code[1], text=code[1]),
            "subject": self.patient,
            "encounter": encounter,
            "effectiveDateTime": instant(moment),
            "issued": instant(moment + timedelta(minutes=5)),
            **more,
        }

    def vitals(
        self,
        moment: datetime,
        encounter: Json,
        *,
        systolic: float,
        diastolic: float,
        heart_rate: float,
        weight: float,
        height: float,
        temperature: float,
    ) -> None:
        """Blood pressure (one Observation, two components), heart rate, weight, height, BMI, temperature."""
        pressure = self._observation(moment, encounter, "vital-signs", codes.BLOOD_PRESSURE)
        pressure["component"] = [
            {
                "code": concept(codes.LOINC, code, name, text=name),
                "valueQuantity": quantity(round(value), "mm[Hg]"),
            }
            for (code, name), value in ((codes.SYSTOLIC, systolic), (codes.DIASTOLIC, diastolic))
        ]
        self._add(pressure, moment)
        bmi = weight / (height / 100) ** 2
        for (code, name, unit), value, decimals in (
            (codes.HEART_RATE, heart_rate, 0),
            (codes.WEIGHT, weight, 1),
            (codes.HEIGHT, height, 1),
            (codes.BMI, bmi, 1),
            (codes.TEMPERATURE, temperature, 1),
        ):
            found = self._observation(
                moment,
                encounter,
                "vital-signs",
                (code, name),
                valueQuantity=quantity(rounded(value, decimals), unit),
            )
            self._add(found, moment)

    # -- laboratory ----------------------------------------------------------------------------

    def _result(self, moment: datetime, encounter: Json, test: Test, value: float) -> Json:
        shown = rounded(value, test.decimals)
        span: Json = {}
        if test.low is not None:
            span["low"] = quantity(test.low, test.unit)
        if test.high is not None:
            span["high"] = quantity(test.high, test.unit)
        flag = test.flag(float(shown))
        return self._observation(
            moment,
            encounter,
            "laboratory",
            (test.code, test.name),
            valueQuantity=quantity(shown, test.unit),
            referenceRange=[span],
            interpretation=[concept(codes.INTERPRETATION, flag, codes.FLAG_WORDS[flag])],
            performer=[ref("Organization", "demo-fort-example-lab", "Fort Example Clinical Laboratory")],
        )

    def _coded_result(
        self, moment: datetime, encounter: Json, test: tuple[str, str], value: tuple[str, str, str]
    ) -> Json:
        abnormal = value[1] == codes.POSITIVE[1]
        return self._observation(
            moment,
            encounter,
            "laboratory",
            test,
            valueCodeableConcept=concept(*value, text=value[2]),
            referenceRange=[{"text": "Negative"}],
            interpretation=[
                concept(codes.INTERPRETATION, "A" if abnormal else "N", "Abnormal" if abnormal else "Normal")
            ],
            performer=[ref("Organization", "demo-fort-example-lab", "Fort Example Clinical Laboratory")],
        )

    def lab_panel(
        self,
        moment: datetime,
        encounter: Json,
        panel: tuple[str, str],
        values: list[tuple[Test, float]],
        coded: list[tuple[tuple[str, str], tuple[str, str, str]]] | None = None,
        *,
        ordered_by: Json,
    ) -> Json:
        """A LAB DiagnosticReport with its results (each an Observation with range and flag)."""
        results = [self._result(moment, encounter, test, value) for test, value in values]
        results += [self._coded_result(moment, encounter, test, value) for test, value in coded or []]
        references = [self._add(found, moment + timedelta(hours=4)) for found in results]
        return self._add(
            {
                "resourceType": "DiagnosticReport",
                "id": self._id("lab", moment),
                "status": "final",
                "category": [concept(codes.V2_0074, "LAB", "Laboratory")],
                "code": concept(codes.LOINC, panel[0], panel[1], text=panel[1]),
                "subject": self.patient,
                "encounter": encounter,
                "effectiveDateTime": instant(moment),
                "issued": instant(moment + timedelta(hours=4)),
                "performer": [
                    ref("Organization", "demo-fort-example-lab", "Fort Example Clinical Laboratory")
                ],
                "resultsInterpreter": [ordered_by],
                "result": references,
            },
            moment + timedelta(hours=4),
        )

    # -- notes ---------------------------------------------------------------------------------

    def note(
        self,
        moment: datetime,
        encounter: Json,
        *,
        kind: tuple[str, str],
        author: Json,
        text: str,
        charset: str = "utf-8",
    ) -> Json:
        """A clinical note: a DocumentReference whose text is a base64 text/plain attachment."""
        signed = moment + timedelta(hours=2)
        return self._add(
            {
                "resourceType": "DocumentReference",
                "id": self._id("note", moment),
                "status": "current",
                "docStatus": "final",
                "type": concept(codes.LOINC, kind[0], kind[1], text=kind[1]),
                "category": [concept(codes.NOTE_CATEGORY, "clinical-note", "Clinical Note")],
                "subject": self.patient,
                "date": instant(signed),
                "author": [author],
                "content": [{"attachment": attachment(text, charset=charset, title=kind[1])}],
                "context": {
                    "encounter": [encounter],
                    "period": {"start": instant(moment), "end": instant(moment + timedelta(minutes=30))},
                },
            },
            signed,
        )

    # -- problems, allergies, vaccines -----------------------------------------------------------

    def condition(
        self,
        onset: datetime,
        code: tuple[str, str],
        *,
        recorder: Json,
        encounter: Json | None = None,
        resolved: datetime | None = None,
    ) -> Json:
        status = "resolved" if resolved else "active"
        resource: Json = {
            "resourceType": "Condition",
            "id": self._id("problem", onset),
            "clinicalStatus": concept(codes.CONDITION_CLINICAL, status, status.capitalize()),
            "verificationStatus": concept(codes.CONDITION_VERIFICATION, "confirmed", "Confirmed"),
            "category": [concept(codes.CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
            "code": concept(codes.SNOMED, code[0], code[1], text=code[1]),
            "subject": self.patient,
            "onsetDateTime": instant(onset),
            "recordedDate": instant(onset),
            "recorder": recorder,
        }
        if encounter is not None:
            resource["encounter"] = encounter
        if resolved is not None:
            resource["abatementDateTime"] = instant(resolved)
        return self._add(resource, resolved or onset)

    def allergy(
        self,
        recorded: datetime,
        substance: tuple[str, str],
        *,
        category: str,
        criticality: str,
        reaction: tuple[str, str],
        severity: str,
        recorder: Json,
    ) -> Json:
        return self._add(
            {
                "resourceType": "AllergyIntolerance",
                "id": self._id("allergy", recorded),
                "clinicalStatus": concept(codes.ALLERGY_CLINICAL, "active", "Active"),
                "verificationStatus": concept(codes.ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
                "type": "allergy",
                "category": [category],
                "criticality": criticality,
                "code": concept(codes.SNOMED, substance[0], substance[1], text=substance[1]),
                "patient": self.patient,
                "recordedDate": instant(recorded),
                "recorder": recorder,
                "reaction": [
                    {
                        "manifestation": [concept(codes.SNOMED, reaction[0], reaction[1], text=reaction[1])],
                        "severity": severity,
                    }
                ],
            },
            recorded,
        )

    def immunization(
        self, moment: datetime, vaccine: tuple[str, str], *, performer: Json, encounter: Json | None = None
    ) -> Json:
        resource: Json = {
            "resourceType": "Immunization",
            "id": self._id("vaccine", moment),
            "status": "completed",
            "vaccineCode": concept(codes.CVX, vaccine[0], vaccine[1], text=vaccine[1]),
            "patient": self.patient,
            "occurrenceDateTime": instant(moment),
            "primarySource": True,
            "lotNumber": f"DEMO{self.rng.randrange(10000, 99999)}",
            "site": {"text": "Left deltoid"},
            "route": {"text": "Intramuscular"},
            "performer": [{"actor": performer}],
        }
        if encounter is not None:
            resource["encounter"] = encounter
        return self._add(resource, moment)

    # -- medicines -----------------------------------------------------------------------------

    def prescription(
        self,
        moment: datetime,
        medicine: tuple[str, str] | Json,
        *,
        prescriber: Json,
        encounter: Json,
        status: str,
        directions: str,
        quantity_each: int,
        supply_days: int,
        repeats: int,
        valid_days: int = 365,
        reason: tuple[str, str] | None = None,
        stopped_because: str | None = None,
        pharmacy: Json | None = None,
        controlled: str | None = None,
    ) -> Json:
        """A MedicationRequest: RxNorm coded, or naming a Medication (`Medication/<id>` reference).

        Filled by the hospital's outpatient pharmacy unless `pharmacy` names another; `controlled`
        is a DEA schedule (`CII`), carried in the extension the medications wing reads."""
        named: Json = (
            {"medicationReference": medicine}
            if isinstance(medicine, dict)
            else {
                "medicationCodeableConcept": concept(codes.RXNORM, medicine[0], medicine[1], text=medicine[1])
            }
        )
        resource: Json = {
            "resourceType": "MedicationRequest",
            "id": self._id("rx", moment),
            "status": status,
            "intent": "order",
            "category": [concept(codes.REQUEST_CATEGORY, "outpatient", "Outpatient")],
            **named,
            "subject": self.patient,
            "encounter": encounter,
            "authoredOn": instant(moment),
            "requester": prescriber,
            "dosageInstruction": [{"sequence": 1, "text": directions}],
            "dispenseRequest": {
                "validityPeriod": {
                    "start": moment.date().isoformat(),
                    "end": (moment + timedelta(days=valid_days)).date().isoformat(),
                },
                "numberOfRepeatsAllowed": repeats,
                "quantity": {"value": quantity_each, "unit": "tablet", "system": codes.UCUM, "code": "{tbl}"},
                "expectedSupplyDuration": {
                    "value": supply_days,
                    "unit": "days",
                    "system": codes.UCUM,
                    "code": "d",
                },
                "performer": pharmacy or OUTPATIENT_PHARMACY,
            },
        }
        if controlled is not None:
            resource["extension"] = [{"url": CONTROLLED_EXTENSION, "valueCode": controlled}]
        if reason is not None:
            resource["reasonCode"] = [concept(codes.SNOMED, reason[0], reason[1], text=reason[1])]
        if stopped_because is not None:
            resource["statusReason"] = {"text": stopped_because}
        return self._add(resource, moment)

    def dispense(
        self,
        moment: datetime,
        prescription: Json,
        medicine: tuple[str, str] | Json,
        *,
        count: int,
        supply_days: int,
        directions: str,
    ) -> Json:
        """A MedicationDispense: the pharmacy filled the prescription and handed it over."""
        named: Json = (
            {"medicationReference": medicine}
            if isinstance(medicine, dict)
            else {
                "medicationCodeableConcept": concept(codes.RXNORM, medicine[0], medicine[1], text=medicine[1])
            }
        )
        return self._add(
            {
                "resourceType": "MedicationDispense",
                "id": self._id("fill", moment),
                "status": "completed",
                **named,
                "subject": self.patient,
                "performer": [{"actor": ref("Practitioner", "demo-rx-patel", "Priya Patel, PharmD")}],
                "location": ref("Location", "demo-pharmacy", "Outpatient Pharmacy"),
                "authorizingPrescription": [prescription],
                "quantity": {"value": count, "unit": "tablet", "system": codes.UCUM, "code": "{tbl}"},
                "daysSupply": {"value": supply_days, "unit": "days", "system": codes.UCUM, "code": "d"},
                "whenPrepared": instant(moment - timedelta(hours=3)),
                "whenHandedOver": instant(moment),
                "dosageInstruction": [{"sequence": 1, "text": directions}],
            },
            moment,
        )

    # -- imaging -------------------------------------------------------------------------------

    def imaging_study(
        self,
        moment: datetime,
        encounter: Json,
        *,
        procedure: tuple[str, str],
        modality: tuple[str, str],
        body_site: tuple[str, str],
        series: list[tuple[str, int]],
        sop_class: str,
        referrer: Json,
    ) -> Json:
        """An ImagingStudy: its DICOM study, series (description, images) and instances."""
        study_id = self._id("study", moment)
        study_uid = dicom_uid(study_id)
        resource: Json = {
            "resourceType": "ImagingStudy",
            "id": study_id,
            "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study_uid}"}],
            "status": "available",
            "modality": [{"system": codes.DICOM, "code": modality[0], "display": modality[1]}],
            "subject": self.patient,
            "encounter": encounter,
            "started": instant(moment),
            "referrer": referrer,
            "numberOfSeries": len(series),
            "numberOfInstances": sum(images for _, images in series),
            "procedureCode": [concept(codes.LOINC, procedure[0], procedure[1], text=procedure[1])],
            "location": ref("Location", "demo-radiology", "Radiology Department"),
            "description": procedure[1],
            "series": [
                {
                    "uid": dicom_uid(f"{study_id}/{number}"),
                    "number": number,
                    "modality": {"system": codes.DICOM, "code": modality[0], "display": modality[1]},
                    "description": description,
                    "numberOfInstances": images,
                    "bodySite": {"system": codes.SNOMED, "code": body_site[0], "display": body_site[1]},
                    "started": instant(moment),
                    "instance": [
                        {
                            "uid": dicom_uid(f"{study_id}/{number}/{image}"),
                            "sopClass": {"system": "urn:ietf:rfc:3986", "code": f"urn:oid:{sop_class}"},
                            "number": image,
                        }
                        for image in range(1, images + 1)
                    ],
                }
                for number, (description, images) in enumerate(series, start=1)
            ],
        }
        return self._add(resource, moment)

    def radiology_report(
        self,
        moment: datetime,
        encounter: Json,
        study: Json,
        *,
        procedure: tuple[str, str],
        radiologist: Json,
        findings: str,
        conclusion: str,
    ) -> Json:
        """A RAD DiagnosticReport naming its study, with a conclusion and the full text as presentedForm."""
        issued = moment + timedelta(hours=6)
        return self._add(
            {
                "resourceType": "DiagnosticReport",
                "id": self._id("rad", moment),
                "status": "final",
                "category": [concept(codes.V2_0074, "RAD", "Radiology")],
                "code": concept(codes.LOINC, procedure[0], procedure[1], text=procedure[1]),
                "subject": self.patient,
                "encounter": encounter,
                "effectiveDateTime": instant(moment),
                "issued": instant(issued),
                "performer": [radiologist],
                "resultsInterpreter": [radiologist],
                "imagingStudy": [study],
                "conclusion": conclusion,
                "presentedForm": [attachment(findings, title=procedure[1])],
            },
            issued,
        )
