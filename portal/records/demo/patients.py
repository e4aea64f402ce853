"""The demo patients' health records, as stories over time.

- Paula Quill (rich): five years of quarterly visits for type 2 diabetes and high blood
  pressure, with vital signs each time, lab panels (metabolic panel and HbA1c every six
  months, lipids and blood count each year; one critical potassium and its repeat), an
  urgent care visit for bronchitis with a chest X-ray and its report, a urine infection with
  a urinalysis (coded Positive/Negative results), a screening mammogram and its report, a
  knee MRI whose report is not in yet, notes (one in ISO-8859-1), allergies, vaccines, and
  prescriptions active, stopped and completed, with their fills.
- Evan Vance (modest): a year of care for prediabetes, three visits, two lab panels, two notes.
- Maya Okafor (nearly empty): one first visit with vital signs and a flu shot.

Values follow each story's course (HbA1c falling as treatment works) with the chart's
seeded noise, so each run makes the same record.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from portal.clinics import demo as people
from portal.records.demo import codes
from portal.records.demo import directory as where
from portal.records.demo.build import Chart, Json
from portal.records.demo.codes import Test


def chart_of(index: int, *, slug: str, gender: str) -> Chart:
    """A chart for the clinics demo's patient `index`: the same DoD ID, name and birth date."""
    return Chart(
        slug=slug,
        dod_id=people.patient_dod_id(index),
        given=people.FIRST[index],
        family=people.LAST[index],
        born=people.patient_birth_date(index),
        gender=gender,
    )


def at(year: int, month: int, day: int, hour: int = 14, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def along(start: float, end: float, progress: float) -> float:
    return start + (end - start) * progress


# -- Paula ---------------------------------------------------------------------------------------

PAULA_VISITS = 20  # quarterly, November 2021 to October 2026
PAULA_FIRST_VISIT = at(2021, 11, 8, 14, 30)


def paula_visit_times(chart: Chart) -> list[datetime]:
    found = []
    for number in range(PAULA_VISITS):
        moment = PAULA_FIRST_VISIT + timedelta(days=91 * number + chart.rng.randint(-6, 6))
        while moment.weekday() >= 5:  # the clinic sees patients on weekdays
            moment += timedelta(days=1)
        found.append(moment.replace(hour=13 + number % 4, minute=15 * (number % 3)))
    return found


def progress_note(
    moment: datetime, *, pressure: tuple[int, int], weight: float, a1c: float | None, first: bool
) -> str:
    lines = [
        "DEMO RECORD - synthetic patient, not a real person.",
        "",
        "Subjective:",
        "New to the clinic: diabetes and blood pressure care transferred from another base."
        if first
        else "Here for diabetes and blood pressure follow-up. Taking her medicines most days.",
        "Walking 30 minutes, four days a week. No chest pain, no shortness of breath.",
        "",
        "Objective:",
        f"BP {pressure[0]}/{pressure[1]} mmHg. Weight {weight:.1f} kg.",
    ]
    if a1c is not None:
        lines.append(f"Hemoglobin A1c today {a1c:.1f} %.")
    lines += [
        "",
        "Assessment and plan:",
        "1. Type 2 diabetes: continue metformin; recheck A1c and metabolic panel in 6 months.",
        "2. Essential hypertension: continue current medicine; home readings log reviewed.",
        "3. Cholesterol: fasting lipid panel at the next visit."
        if first
        else "3. Hyperlipidemia: continue atorvastatin.",
        "Return in 3 months, sooner if needed.",
        "",
        f"Dana Diaz, MD - {moment:%m/%d/%Y}",
    ]
    return "\n".join(lines)


def paula() -> list[Json]:
    chart = chart_of(0, slug="paula", gender="female")
    visits = paula_visit_times(chart)
    diaz, clinic = where.DR_DIAZ, where.FAMILY_HEALTH
    first = visits[0]
    chart.condition(at(2017, 5, 2), codes.HYPERTENSION, recorder=diaz)
    chart.condition(at(2019, 8, 19), codes.DIABETES, recorder=diaz)
    chart.allergy(
        first,
        codes.PENICILLIN,
        category="medication",
        criticality="high",
        reaction=codes.HIVES,
        severity="moderate",
        recorder=diaz,
    )
    chart.allergy(
        first,
        codes.LATEX,
        category="environment",
        criticality="low",
        reaction=codes.CONTACT_DERMATITIS,
        severity="mild",
        recorder=diaz,
    )

    encounters: list[Json] = []
    for number, moment in enumerate(visits):
        progress = number / (PAULA_VISITS - 1)
        kind = (
            ("185349003", "Encounter for check up") if number == 0 else ("390906007", "Follow-up encounter")
        )
        visit = chart.encounter(moment, kind=kind, practitioner=diaz, location=clinic, reason=codes.DIABETES)
        encounters.append(visit)
        weight = along(84.0, 77.5, progress) + chart.noise(0.8)
        pressure = (
            round(along(146, 128, progress) + chart.noise(5)),
            round(along(92, 78, progress) + chart.noise(4)),
        )
        chart.vitals(
            moment,
            visit,
            systolic=pressure[0],
            diastolic=pressure[1],
            heart_rate=76 + chart.noise(6),
            weight=weight,
            height=163.0 + chart.noise(0.3),
            temperature=36.7 + chart.noise(0.2),
        )
        a1c = None
        if number % 2 == 0:
            lab_time = moment - timedelta(minutes=40)
            a1c = round(along(8.4, 6.6, progress) + chart.noise(0.2), 1)
            chart.lab_panel(lab_time, visit, codes.PANEL_HBA1C, [(codes.HBA1C, a1c)], ordered_by=diaz)
            chart.lab_panel(
                lab_time,
                visit,
                codes.PANEL_BASIC_METABOLIC,
                paula_metabolic(chart, progress),
                ordered_by=diaz,
            )
        if number % 4 == 1:
            chart.lab_panel(
                moment - timedelta(minutes=40),
                visit,
                codes.PANEL_LIPIDS,
                paula_lipids(chart, progress),
                ordered_by=diaz,
            )
        if number % 4 == 3:
            chart.lab_panel(
                moment - timedelta(minutes=40),
                visit,
                codes.PANEL_BLOOD_COUNT,
                blood_count(chart, low_hemoglobin=number == 7),
                ordered_by=diaz,
            )
        kind_of_note = codes.HISTORY_AND_PHYSICAL if number == 0 else codes.PROGRESS_NOTE
        text = progress_note(moment, pressure=pressure, weight=weight, a1c=a1c, first=number == 0)
        chart.note(moment, visit, kind=kind_of_note, author=diaz, text=text)

    paula_events(chart, visits, encounters)
    paula_medicines(chart, visits, encounters)
    paula_imaging(chart)
    paula_vaccines(chart)
    return chart.resources


def paula_metabolic(chart: Chart, progress: float) -> list[tuple[Test, float]]:
    return [
        (codes.GLUCOSE, along(168, 118, progress) + chart.noise(12)),
        (codes.UREA_NITROGEN, 15 + chart.noise(3)),
        (codes.CREATININE, 0.82 + chart.noise(0.06)),
        (codes.SODIUM, 139 + chart.noise(2)),
        (codes.POTASSIUM, 4.3 + chart.noise(0.3)),
        (codes.CHLORIDE, 102 + chart.noise(2)),
        (codes.CARBON_DIOXIDE, 25 + chart.noise(2)),
        (codes.CALCIUM, 9.5 + chart.noise(0.3)),
    ]


def paula_lipids(chart: Chart, progress: float) -> list[tuple[Test, float]]:
    return [
        (codes.CHOLESTEROL, along(232, 168, progress) + chart.noise(6)),
        (codes.TRIGLYCERIDES, along(190, 128, progress) + chart.noise(10)),
        (codes.HDL, along(44, 52, progress) + chart.noise(2)),
        (codes.LDL, along(152, 88, progress) + chart.noise(5)),
    ]


def blood_count(chart: Chart, *, low_hemoglobin: bool = False) -> list[tuple[Test, float]]:
    hemoglobin = 11.6 if low_hemoglobin else 13.4 + chart.noise(0.6)
    return [
        (codes.WBC, 6.8 + chart.noise(1.2)),
        (codes.RBC, 4.5 + chart.noise(0.25)),
        (codes.HEMOGLOBIN, hemoglobin),
        (codes.HEMATOCRIT, hemoglobin * 3 + chart.noise(0.6)),
        (codes.PLATELETS, 260 + chart.noise(40)),
    ]


def paula_events(chart: Chart, visits: list[datetime], encounters: list[Json]) -> None:
    """A dietitian's consult, bronchitis, a urine infection, and a critical potassium."""
    diaz = where.DR_DIAZ
    chart.condition(visits[1], codes.HYPERLIPIDEMIA, recorder=diaz, encounter=encounters[1])
    consult_time = visits[1] + timedelta(days=21)
    consult = chart.encounter(
        consult_time,
        kind=("11429006", "Consultation"),
        practitioner=where.DIETITIAN,
        location=where.INTERNAL_MEDICINE,
        reason=codes.DIABETES,
        minutes=45,
    )
    chart.note(
        consult_time,
        consult,
        kind=codes.CONSULT_NOTE,
        author=where.DIETITIAN,
        charset="ISO-8859-1",  # the dietitian's system writes Latin-1
        text=(
            "DEMO RECORD - synthetic patient, not a real person.\n\n"
            "Nutrition consult for type 2 diabetes.\n"
            "Breakfast is café con leche with two spoons of sugar and a croissant; lunch at the "
            "cafeteria; dinner often pão de queijo or crème brûlée for dessert.\n"
            "Plan: café con leche without sugar, half portions of bread, fruit instead of "
            "crème brûlée on weekdays. Plate method reviewed; handout given in English and español.\n"
            "Follow-up in 3 months.\n\nMarisol Benavides, RD"
        ),
    )
    chart.condition(visits[5], codes.KNEE_ARTHRITIS, recorder=diaz, encounter=encounters[5])

    cough = at(2024, 1, 16, 16, 10)
    urgent = chart.encounter(
        cough,
        kind=("50849002", "Emergency room admission"),
        practitioner=where.DR_ITO,
        location=where.URGENT_CARE,
        reason=codes.BRONCHITIS,
        klass=("EMER", "emergency"),
    )
    chart.condition(cough, codes.BRONCHITIS, recorder=where.DR_ITO, encounter=urgent, resolved=at(2024, 2, 5))
    chart.vitals(
        cough, urgent, systolic=138, diastolic=84, heart_rate=92, weight=80.4, height=163.0, temperature=38.1
    )
    chart.note(
        cough,
        urgent,
        kind=codes.PROGRESS_NOTE,
        author=where.DR_ITO,
        text=(
            "DEMO RECORD - synthetic patient, not a real person.\n\n"
            "Urgent care visit: cough for 6 days, low fever, no shortness of breath.\n"
            "Temperature 38.1 C, lungs with scattered wheezes, oxygen saturation normal.\n"
            "Chest X-ray: no pneumonia.\n"
            "Assessment: acute bronchitis. Rest, fluids, honey for cough; return if short of breath.\n\n"
            "Iris Ito, MD"
        ),
    )
    study = chart.imaging_study(
        cough + timedelta(minutes=30),
        urgent,
        procedure=codes.XR_CHEST,
        modality=("DX", "Digital Radiography"),
        body_site=codes.CHEST,
        series=[("PA", 1), ("Lateral", 1)],
        sop_class=codes.SOP_DIGITAL_XRAY,
        referrer=where.DR_ITO,
    )
    chart.radiology_report(
        cough + timedelta(minutes=30),
        urgent,
        study,
        procedure=codes.XR_CHEST,
        radiologist=where.DR_FERRAND,
        conclusion="No acute cardiopulmonary process.",
        findings=(
            "DEMO RECORD - synthetic patient, not a real person.\n\n"
            "EXAM: XR chest, PA and lateral.\nINDICATION: Cough and fever for 6 days.\n"
            "FINDINGS: Lungs are clear without consolidation, effusion or pneumothorax. "
            "Heart size is normal. Mild degenerative change of the thoracic spine.\n"
            "IMPRESSION: No acute cardiopulmonary process.\n\nLucia Ferrand, MD"
        ),
    )

    burning = at(2024, 6, 10, 15, 20)
    uti = chart.encounter(
        burning,
        kind=("702927004", "Urgent care clinic"),
        practitioner=where.DR_ITO,
        location=where.URGENT_CARE,
        reason=codes.CYSTITIS,
    )
    chart.condition(burning, codes.CYSTITIS, recorder=where.DR_ITO, encounter=uti, resolved=at(2024, 6, 20))
    chart.lab_panel(
        burning,
        uti,
        codes.PANEL_URINALYSIS,
        [],
        [
            (codes.URINE_NITRITE, codes.POSITIVE),
            (codes.URINE_LEUKOCYTE_ESTERASE, codes.POSITIVE),
            (codes.URINE_GLUCOSE, codes.NEGATIVE),
            (codes.URINE_PROTEIN, codes.NEGATIVE),
        ],
        ordered_by=where.DR_ITO,
    )
    rx = chart.prescription(
        burning,
        codes.SULFAMETHOXAZOLE_TRIMETHOPRIM,
        prescriber=where.DR_ITO,
        encounter=uti,
        status="completed",
        directions="Take 1 tablet by mouth twice a day for 3 days.",
        quantity_each=6,
        supply_days=3,
        repeats=0,
        valid_days=10,
        reason=codes.CYSTITIS,
    )
    chart.dispense(
        burning + timedelta(hours=1),
        rx,
        codes.SULFAMETHOXAZOLE_TRIMETHOPRIM,
        count=6,
        supply_days=3,
        directions="Take 1 tablet by mouth twice a day for 3 days.",
    )

    # A critical potassium at the February 2025 visit; the repeat three days later is normal.
    number = next(n for n, v in enumerate(visits) if v >= at(2025, 1, 20))
    high_k = visits[number] - timedelta(minutes=40)
    values = dict(paula_metabolic(chart, number / (PAULA_VISITS - 1)))
    values[codes.POTASSIUM], values[codes.CREATININE] = 6.4, 1.12
    chart.lab_panel(
        high_k + timedelta(minutes=5),
        encounters[number],
        codes.PANEL_BASIC_METABOLIC,
        list(values.items()),
        ordered_by=diaz,
    )
    chart.condition(
        high_k,
        codes.HYPERKALEMIA,
        recorder=diaz,
        encounter=encounters[number],
        resolved=high_k + timedelta(days=3),
    )
    repeat_time = high_k + timedelta(days=3)
    repeat = chart.encounter(
        repeat_time,
        kind=("185389009", "Follow-up visit"),
        practitioner=where.NURSE_NOLAN,
        location=where.FAMILY_HEALTH,
        reason=codes.HYPERKALEMIA,
        minutes=15,
    )
    values = dict(paula_metabolic(chart, number / (PAULA_VISITS - 1)))
    values[codes.POTASSIUM] = 4.9
    chart.lab_panel(repeat_time, repeat, codes.PANEL_BASIC_METABOLIC, list(values.items()), ordered_by=diaz)


def paula_medicines(chart: Chart, visits: list[datetime], encounters: list[Json]) -> None:
    """Prescriptions active, stopped and completed, and the pharmacy's fills."""
    diaz = where.DR_DIAZ
    twice = "Take 1 tablet by mouth twice a day with meals."
    old = chart.prescription(
        visits[0],
        where.METFORMIN,
        prescriber=diaz,
        encounter=encounters[0],
        status="completed",
        directions=twice,
        quantity_each=180,
        supply_days=90,
        repeats=3,
        reason=codes.DIABETES,
    )
    chart.dispense(
        visits[0] + timedelta(hours=2), old, where.METFORMIN, count=180, supply_days=90, directions=twice
    )
    renewed_at = visits[16]
    metformin = chart.prescription(
        renewed_at,
        where.METFORMIN,
        prescriber=diaz,
        encounter=encounters[16],
        status="active",
        directions=twice,
        quantity_each=180,
        supply_days=90,
        repeats=3,
        reason=codes.DIABETES,
    )
    for fill in range(4):
        handed = renewed_at + timedelta(days=88 * fill, hours=2)
        if handed < at(2026, 11, 1):
            chart.dispense(handed, metformin, where.METFORMIN, count=180, supply_days=90, directions=twice)

    daily = "Take 1 tablet by mouth once a day."
    number = next(n for n, v in enumerate(visits) if v >= at(2025, 1, 20))
    chart.prescription(
        visits[0],
        codes.LISINOPRIL,
        prescriber=diaz,
        encounter=encounters[0],
        status="stopped",
        directions=daily,
        quantity_each=90,
        supply_days=90,
        repeats=3,
        reason=codes.HYPERTENSION,
        stopped_because="Stopped for a high potassium; changed to amlodipine.",
    )
    amlodipine = chart.prescription(
        visits[number] + timedelta(days=3),
        codes.AMLODIPINE,
        prescriber=diaz,
        encounter=encounters[number],
        status="active",
        directions=daily,
        quantity_each=90,
        supply_days=90,
        repeats=3,
        reason=codes.HYPERTENSION,
    )
    chart.dispense(
        visits[number] + timedelta(days=3, hours=3),
        amlodipine,
        codes.AMLODIPINE,
        count=90,
        supply_days=90,
        directions=daily,
    )

    evening = "Take 1 tablet by mouth every evening."
    chart.prescription(
        visits[1],
        codes.ATORVASTATIN,
        prescriber=diaz,
        encounter=encounters[1],
        status="completed",
        directions=evening,
        quantity_each=90,
        supply_days=90,
        repeats=3,
        reason=codes.HYPERLIPIDEMIA,
    )
    statin = chart.prescription(
        visits[17],
        codes.ATORVASTATIN,
        prescriber=diaz,
        encounter=encounters[17],
        status="active",
        directions=evening,
        quantity_each=90,
        supply_days=90,
        repeats=3,
        reason=codes.HYPERLIPIDEMIA,
    )
    chart.dispense(
        visits[17] + timedelta(hours=2),
        statin,
        codes.ATORVASTATIN,
        count=90,
        supply_days=90,
        directions=evening,
    )

    as_needed = (
        "Take 1 to 2 tablets by mouth every 6 hours as needed for knee pain. No more than 6 tablets a day."
    )
    chart.prescription(
        visits[5],
        codes.ACETAMINOPHEN,
        prescriber=diaz,
        encounter=encounters[5],
        status="active",
        directions=as_needed,
        quantity_each=100,
        supply_days=30,
        repeats=5,
        reason=codes.KNEE_ARTHRITIS,
    )
    # The statin was filled again late in November 2026: too soon for another refill until February.
    chart.dispense(
        at(2026, 11, 23, 10), statin, codes.ATORVASTATIN, count=90, supply_days=90, directions=evening
    )
    paula_recent_medicines(chart, visits, encounters)


def paula_recent_medicines(chart: Chart, visits: list[datetime], encounters: list[Json]) -> None:
    """The medications wing's demo: refillable, a request in each state, controlled, civilian."""
    diaz = where.DR_DIAZ
    daily = "Take 1 tablet by mouth once a day."
    recent: list[tuple[Any, datetime, datetime, int, int, str, tuple[str, str], dict[str, Any]]] = [
        # (medicine, written, fill, supply days, repeats, directions, reason, extra)
        (codes.OMEPRAZOLE, visits[18], at(2026, 9, 1, 11), 30, 5, "Take 1 capsule by mouth before breakfast.", codes.GERD, {}),
        (codes.VITAMIN_D, visits[18], at(2026, 8, 20, 11), 90, 3, daily, codes.VITAMIN_D_DEFICIENCY, {}),
        (codes.FLUTICASONE, visits[18], at(2026, 8, 3, 11), 60, 5, "Use 2 sprays in each nostril once a day.", codes.HAY_FEVER, {}),
        (codes.OXYCODONE, visits[19], visits[19] + timedelta(hours=2), 10, 0,
         "Take 1 tablet by mouth every 6 hours as needed for severe knee pain.", codes.KNEE_ARTHRITIS, {"controlled": "CII"}),
        (codes.CETIRIZINE, visits[18], at(2026, 10, 2, 11), 30, 5, daily, codes.HAY_FEVER,
         {"pharmacy": where.CIVILIAN_PHARMACY}),
    ]  # fmt: skip
    for medicine, written, filled, supply, repeats, directions, reason, extra in recent:
        number = visits.index(written)
        rx = chart.prescription(
            written,
            medicine,
            prescriber=diaz,
            encounter=encounters[number],
            status="active",
            directions=directions,
            quantity_each=supply,
            supply_days=supply,
            repeats=repeats,
            reason=reason,
            **extra,
        )
        chart.dispense(filled, rx, medicine, count=supply, supply_days=supply, directions=directions)
    # One refill allowed, both fills dispensed: no refills left, a renewal is offered.
    nightly = "Take 1 tablet by mouth every evening."
    montelukast = chart.prescription(
        visits[18],
        codes.MONTELUKAST,
        prescriber=diaz,
        encounter=encounters[18],
        status="active",
        directions=nightly,
        quantity_each=30,
        supply_days=30,
        repeats=1,
        reason=codes.HAY_FEVER,
    )
    for filled in (at(2026, 9, 10, 11), at(2026, 10, 12, 11)):
        chart.dispense(filled, montelukast, codes.MONTELUKAST, count=30, supply_days=30, directions=nightly)


def paula_imaging(chart: Chart) -> None:
    """A screening mammogram with its report, and a knee MRI whose report is not in yet."""
    screening = at(2025, 4, 22, 13, 0)
    visit = chart.encounter(
        screening,
        kind=("268547008", "Screening for malignant neoplasm of breast"),
        practitioner=where.DR_FERRAND,
        location=where.RADIOLOGY,
        minutes=20,
    )
    study = chart.imaging_study(
        screening,
        visit,
        procedure=codes.MG_SCREENING,
        modality=("MG", "Mammography"),
        body_site=codes.BREAST,
        series=[("R CC", 1), ("R MLO", 1), ("L CC", 1), ("L MLO", 1)],
        sop_class=codes.SOP_MAMMOGRAPHY,
        referrer=where.DR_DIAZ,
    )
    chart.radiology_report(
        screening,
        visit,
        study,
        procedure=codes.MG_SCREENING,
        radiologist=where.DR_FERRAND,
        conclusion="Negative screening mammogram (BI-RADS 1). Routine screening in one year.",
        findings=(
            "DEMO RECORD - synthetic patient, not a real person.\n\n"
            "EXAM: Screening mammogram, bilateral, with tomosynthesis.\n"
            "COMPARISON: None available.\n"
            "FINDINGS: The breasts are scattered fibroglandular density. No suspicious mass, "
            "calcification or architectural distortion.\n"
            "IMPRESSION: BI-RADS 1, negative.\n\nLucia Ferrand, MD"
        ),
    )
    knee = at(2026, 10, 5, 17, 30)
    visit = chart.encounter(
        knee,
        kind=("363680008", "Radiographic imaging procedure"),
        practitioner=where.DR_FERRAND,
        location=where.RADIOLOGY,
        reason=codes.KNEE_ARTHRITIS,
        minutes=40,
    )
    chart.imaging_study(
        knee,
        visit,
        procedure=codes.MR_KNEE,
        modality=("MR", "Magnetic Resonance"),
        body_site=codes.KNEE,
        series=[("Sagittal PD", 3), ("Coronal T1", 3), ("Axial PD fat sat", 3)],
        sop_class=codes.SOP_MR,
        referrer=where.DR_DIAZ,
    )


def paula_vaccines(chart: Chart) -> None:
    nurse = where.NURSE_NOLAN
    for year in range(2021, 2027):
        chart.immunization(at(year, 10, 4 + year % 5, 15), codes.FLU_HIGH_DOSE, performer=nurse)
    chart.immunization(at(2021, 11, 8, 15), codes.TDAP, performer=nurse)
    chart.immunization(at(2022, 3, 14, 15), codes.ZOSTER, performer=nurse)
    chart.immunization(at(2022, 6, 13, 15), codes.ZOSTER, performer=nurse)
    chart.immunization(at(2023, 10, 9, 15, 30), codes.COVID, performer=nurse)
    chart.immunization(at(2024, 10, 7, 15, 30), codes.COVID, performer=nurse)
    chart.immunization(at(2025, 4, 22, 14), codes.PNEUMOCOCCAL, performer=nurse)


# -- Evan ----------------------------------------------------------------------------------------


def evan() -> list[Json]:
    chart = chart_of(1, slug="evan", gender="male")
    ito, clinic = where.DR_ITO, where.INTERNAL_MEDICINE
    chart.condition(at(2019, 4, 15), codes.HAY_FEVER, recorder=ito)
    chart.allergy(
        at(2025, 11, 3, 14),
        codes.SHELLFISH,
        category="food",
        criticality="low",
        reaction=codes.ITCHY_MOUTH,
        severity="mild",
        recorder=ito,
    )
    chart.immunization(at(2025, 10, 20, 15), codes.FLU, performer=where.NURSE_NOLAN)
    chart.immunization(at(2025, 10, 20, 15, 10), codes.COVID, performer=where.NURSE_NOLAN)
    for number, (moment, weight, pressure, a1c) in enumerate(
        [
            (at(2025, 11, 3, 14), 96.2, (134, 86), 6.1),
            (at(2026, 3, 9, 15), 94.0, (130, 84), None),
            (at(2026, 8, 17, 14, 30), 92.5, (128, 82), 5.9),
        ]
    ):
        visit = chart.encounter(
            moment,
            kind=("390906007", "Follow-up encounter"),
            practitioner=ito,
            location=clinic,
            reason=codes.PREDIABETES,
        )
        chart.vitals(
            moment,
            visit,
            systolic=pressure[0],
            diastolic=pressure[1],
            heart_rate=70 + chart.noise(5),
            weight=weight,
            height=178.0,
            temperature=36.6,
        )
        if number == 0:
            chart.condition(moment, codes.PREDIABETES, recorder=ito, encounter=visit)
            chart.lab_panel(
                moment - timedelta(minutes=30),
                visit,
                codes.PANEL_LIPIDS,
                [(codes.CHOLESTEROL, 204), (codes.TRIGLYCERIDES, 162), (codes.HDL, 41), (codes.LDL, 128)],
                ordered_by=ito,
            )
            metformin = chart.prescription(
                moment,
                where.METFORMIN,
                prescriber=ito,
                encounter=visit,
                status="active",
                directions="Take 1 tablet by mouth once a day with dinner.",
                quantity_each=90,
                supply_days=90,
                repeats=3,
                reason=codes.PREDIABETES,
            )
            chart.dispense(
                moment + timedelta(hours=1),
                metformin,
                where.METFORMIN,
                count=90,
                supply_days=90,
                directions="Take 1 tablet by mouth once a day with dinner.",
            )
            chart.prescription(
                moment,
                codes.LORATADINE,
                prescriber=ito,
                encounter=visit,
                status="completed",
                directions="Take 1 tablet by mouth once a day in allergy season.",
                quantity_each=30,
                supply_days=30,
                repeats=0,
                valid_days=90,
                reason=codes.HAY_FEVER,
            )
            spray = "Use 2 sprays in each nostril once a day."
            fluticasone = chart.prescription(
                moment,
                codes.FLUTICASONE,
                prescriber=ito,
                encounter=visit,
                status="active",
                directions=spray,
                quantity_each=1,
                supply_days=60,
                repeats=5,
                valid_days=730,
                reason=codes.HAY_FEVER,
            )
            chart.dispense(
                moment + timedelta(hours=1),
                fluticasone,
                codes.FLUTICASONE,
                count=1,
                supply_days=60,
                directions=spray,
            )
        if a1c is not None:
            chart.lab_panel(
                moment - timedelta(minutes=30), visit, codes.PANEL_HBA1C, [(codes.HBA1C, a1c)], ordered_by=ito
            )
        if number != 1:
            chart.note(
                moment,
                visit,
                kind=codes.PROGRESS_NOTE,
                author=ito,
                text=(
                    "DEMO RECORD - synthetic patient, not a real person.\n\n"
                    f"Prediabetes follow-up. Weight {weight:.1f} kg, BP {pressure[0]}/{pressure[1]} mmHg."
                    + (f"\nHemoglobin A1c {a1c:.1f} %." if a1c is not None else "")
                    + "\nPlan: metformin once daily, walking after dinner, recheck A1c in 6 months.\n\nIris Ito, MD"
                ),
            )
    return chart.resources


# -- Maya ----------------------------------------------------------------------------------------


def maya() -> list[Json]:
    chart = chart_of(2, slug="maya", gender="female")
    moment = at(2026, 9, 14, 14)
    visit = chart.encounter(
        moment,
        kind=("185349003", "Encounter for check up"),
        practitioner=where.DR_DIAZ,
        location=where.FAMILY_HEALTH,
    )
    chart.vitals(
        moment, visit, systolic=118, diastolic=74, heart_rate=66, weight=61.3, height=167.5, temperature=36.5
    )
    chart.immunization(
        moment + timedelta(minutes=20), codes.FLU, performer=where.NURSE_NOLAN, encounter=visit
    )
    return chart.resources
