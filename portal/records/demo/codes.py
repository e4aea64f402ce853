"""The code systems and the tests, vaccines, conditions and medicines the demo records use.

Codes are the published ones (LOINC, SNOMED CT, CVX, RxNorm, UCUM); reference ranges are
typical adult ranges, written here for the demo, not taken from any laboratory.
"""

from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CVX = "http://hl7.org/fhir/sid/cvx"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
NPI = "http://hl7.org/fhir/sid/us-npi"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
NOTE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
REQUEST_CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
# The demo hospital's own identifier systems (made up; the DoD ID system comes from settings).
FORMULARY = "urn:oid:2.16.840.1.113883.3.42.10001.100001.80"
DMIS = "urn:oid:2.16.840.1.113883.3.42.10001.100001.10"

FLAG_WORDS = {"H": "High", "L": "Low", "HH": "Critical high", "LL": "Critical low", "N": "Normal"}


@dataclass(frozen=True)
class Test:
    """A numeric laboratory test: LOINC code, name, UCUM unit, and its adult reference range."""

    code: str
    name: str
    unit: str
    low: float | None
    high: float | None
    decimals: int = 0
    critical_low: float | None = None
    critical_high: float | None = None

    def flag(self, value: float) -> str:
        if self.critical_high is not None and value >= self.critical_high:
            return "HH"
        if self.critical_low is not None and value <= self.critical_low:
            return "LL"
        if self.high is not None and value > self.high:
            return "H"
        if self.low is not None and value < self.low:
            return "L"
        return "N"


GLUCOSE = Test("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 99, 0, 40, 400)
UREA_NITROGEN = Test("3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "mg/dL", 7, 20)
CREATININE = Test("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.57, 1.0, 2)
SODIUM = Test("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 136, 145, 0, 120, 160)
POTASSIUM = Test("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.5, 5.1, 1, 2.8, 6.2)
CHLORIDE = Test("2075-0", "Chloride [Moles/volume] in Serum or Plasma", "mmol/L", 98, 107)
CARBON_DIOXIDE = Test("2028-9", "Carbon dioxide, total [Moles/volume] in Serum or Plasma", "mmol/L", 22, 29)
CALCIUM = Test("17861-6", "Calcium [Mass/volume] in Serum or Plasma", "mg/dL", 8.6, 10.3, 1, 6.0, 13.0)
BASIC_METABOLIC = [GLUCOSE, UREA_NITROGEN, CREATININE, SODIUM, POTASSIUM, CHLORIDE, CARBON_DIOXIDE, CALCIUM]

HBA1C = Test("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.0, 5.6, 1)

CHOLESTEROL = Test("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", None, 199)
TRIGLYCERIDES = Test("2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", None, 149)
HDL = Test("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", 40, None)
LDL = Test(
    "18262-6", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay", "mg/dL", None, 99
)
LIPIDS = [CHOLESTEROL, TRIGLYCERIDES, HDL, LDL]

WBC = Test("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", 4.5, 11.0, 1)
RBC = Test("789-8", "Erythrocytes [#/volume] in Blood by Automated count", "10*6/uL", 3.9, 5.2, 2)
HEMOGLOBIN = Test("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12.0, 15.5, 1, 7.0, 20.0)
HEMATOCRIT = Test("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "%", 35.0, 45.0, 1)
PLATELETS = Test("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 150, 400)
BLOOD_COUNT = [WBC, RBC, HEMOGLOBIN, HEMATOCRIT, PLATELETS]

# Panels: (LOINC code, name). A single test's report is named by its test.
PANEL_BASIC_METABOLIC = ("51990-0", "Basic metabolic panel - Blood")
PANEL_LIPIDS = ("57698-3", "Lipid panel with direct LDL - Serum or Plasma")
PANEL_BLOOD_COUNT = ("58410-2", "CBC panel - Blood by Automated count")
PANEL_HBA1C = (HBA1C.code, "Hemoglobin A1c panel - Blood")
PANEL_URINALYSIS = ("24356-8", "Urinalysis complete panel - Urine")

# Coded results (urinalysis dipstick): LOINC code and name; values are SNOMED CT findings.
POSITIVE = (SNOMED, "10828004", "Positive")
NEGATIVE = (SNOMED, "260385009", "Negative")
URINE_NITRITE = ("5802-4", "Nitrite [Presence] in Urine by Test strip")
URINE_LEUKOCYTE_ESTERASE = ("5799-2", "Leukocyte esterase [Presence] in Urine by Test strip")
URINE_GLUCOSE = ("25428-4", "Glucose [Presence] in Urine by Test strip")
URINE_PROTEIN = ("2888-6", "Protein [Presence] in Urine by Test strip")

# Vital signs (LOINC), with their UCUM units.
BLOOD_PRESSURE = ("85354-6", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
HEART_RATE = ("8867-4", "Heart rate", "/min")
WEIGHT = ("29463-7", "Body weight", "kg")
HEIGHT = ("8302-2", "Body height", "cm")
BMI = ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2")
TEMPERATURE = ("8310-5", "Body temperature", "Cel")

# Clinical notes (LOINC document types).
PROGRESS_NOTE = ("11506-3", "Progress note")
CONSULT_NOTE = ("11488-4", "Consult note")
HISTORY_AND_PHYSICAL = ("34117-2", "History and physical note")

# Radiology (LOINC) and the DICOM modalities and SNOMED CT body sites of the studies.
XR_CHEST = ("36643-5", "XR Chest 2 Views")
MG_SCREENING = ("24606-6", "MG Breast Screening")
MR_KNEE = ("24802-1", "MR Knee")
CHEST = ("51185008", "Thoracic structure")
BREAST = ("76752008", "Breast structure")
KNEE = ("72696002", "Knee region structure")
# DICOM storage classes of the instances.
SOP_DIGITAL_XRAY = "1.2.840.10008.5.1.4.1.1.1.1"
SOP_MAMMOGRAPHY = "1.2.840.10008.5.1.4.1.1.1.2"
SOP_MR = "1.2.840.10008.5.1.4.1.1.4"

# Vaccines (CVX).
FLU_HIGH_DOSE = ("197", "Influenza, high-dose, quadrivalent, preservative free")
FLU = ("150", "Influenza, injectable, quadrivalent, preservative free")
TDAP = ("115", "Tdap")
ZOSTER = ("187", "Zoster vaccine recombinant")
PNEUMOCOCCAL = ("216", "Pneumococcal conjugate PCV20, polysaccharide CRM197, preservative free")
COVID = ("309", "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 50 mcg/0.5mL")

# Conditions (SNOMED CT).
OMEPRAZOLE = ("198053", "Omeprazole 20 MG Delayed Release Oral Capsule")
VITAMIN_D = ("308344", "Cholecalciferol 1000 UNT Oral Tablet")
FLUTICASONE = ("1797855", "Fluticasone propionate 50 MCG/ACTUAL Nasal Spray")
OXYCODONE = ("1049621", "Oxycodone Hydrochloride 5 MG Oral Tablet")
MONTELUKAST = ("997501", "Montelukast 10 MG Oral Tablet")
CETIRIZINE = ("1014678", "Cetirizine Hydrochloride 10 MG Oral Tablet")
GERD = ("235595009", "Gastroesophageal reflux disease")
VITAMIN_D_DEFICIENCY = ("34713006", "Vitamin D deficiency")

DIABETES = ("44054006", "Diabetes mellitus type 2")
HYPERTENSION = ("59621000", "Essential hypertension")
HYPERLIPIDEMIA = ("55822004", "Hyperlipidemia")
KNEE_ARTHRITIS = ("239873007", "Osteoarthritis of knee")
BRONCHITIS = ("10509002", "Acute bronchitis")
CYSTITIS = ("68226007", "Acute cystitis")
HYPERKALEMIA = ("14140009", "Hyperkalemia")
PREDIABETES = ("714628002", "Prediabetes")
HAY_FEVER = ("367498001", "Seasonal allergic rhinitis")

# Allergies (SNOMED CT substances and reactions).
PENICILLIN = ("764146007", "Penicillin")
LATEX = ("111088007", "Latex")
SHELLFISH = ("227037002", "Fish and shellfish")
HIVES = ("247472004", "Hives")
CONTACT_DERMATITIS = ("40275004", "Contact dermatitis")
ITCHY_MOUTH = ("418290006", "Itching")

# Medicines (RxNorm clinical drugs).
METFORMIN = ("861007", "Metformin hydrochloride 500 MG Oral Tablet")
LISINOPRIL = ("314076", "Lisinopril 10 MG Oral Tablet")
AMLODIPINE = ("197361", "Amlodipine 5 MG Oral Tablet")
ATORVASTATIN = ("617310", "Atorvastatin 20 MG Oral Tablet")
ACETAMINOPHEN = ("198440", "Acetaminophen 500 MG Oral Tablet")
SULFAMETHOXAZOLE_TRIMETHOPRIM = ("198335", "Sulfamethoxazole 800 MG / Trimethoprim 160 MG Oral Tablet")
LORATADINE = ("311372", "Loratadine 10 MG Oral Tablet")
TABLET = ("385055001", "Tablet")
