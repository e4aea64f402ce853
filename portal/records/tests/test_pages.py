"""The health record's pages, as Paula, her care team, and everyone who must not see them.

Paula's record is the shared patient-24 bundle (42 notes) and the HL7 examples (flagged
lab results, radiology). Dr. Diaz is on Paula's team and reads the same pages under
/staff/patients/<id>/record/. Eve (another patient), Nora (Team Gold) and Alex (an
administrator) get the same 404 as for an id that does not exist, on every URL.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.records.models import Record
from portal.records.tests.helpers import BUNDLES, load
from portal.records.tests.record_data import import_examples, import_synthea

SignIn = Callable[[User], Client]


@pytest.fixture
def record(paula: User, tmp_path: Path) -> User:
    import_synthea(paula)
    import_examples(paula, tmp_path)
    return paula


def ids(paula: User) -> dict[str, int]:
    rows = Record.objects.filter(patient=paula.patient)
    return {
        "note": rows.get(kind="DocumentReference", fhir_id="latin-note").pk,
        "panel": rows.get(kind="DiagnosticReport", fhir_id="panel-f").pk,
    }


def paula_urls(paula: User) -> list[str]:
    found = ids(paula)
    return [
        "/record/",
        "/record/notes/",
        f"/record/notes/{found['note']}/",
        "/record/labs/",
        f"/record/labs/{found['panel']}/",
        "/record/labs/trend/15074-8/",
        "/record/imaging/",
    ]


def staff_urls(paula: User) -> list[str]:
    prefix = f"/staff/patients/{paula.patient.pk}"
    return [prefix + url for url in paula_urls(paula)]


def test_the_summary_lists_conditions_allergies_immunizations_and_vitals(
    record: User, signed_in: SignIn
) -> None:
    page = signed_in(record).get("/record/").content.decode()
    assert "Conditions" in page and "Allergies" in page and "Immunizations" in page
    assert "Blood pressure (systolic/diastolic)" in page and "Body mass index (BMI)" in page
    assert "No allergies on record" not in page
    assert "High risk" in page or "Low risk" in page


def test_an_empty_record_says_so_in_words(paula: User, signed_in: SignIn) -> None:
    page = signed_in(paula).get("/record/").content.decode()
    for said in ("No conditions on record", "No allergies on record", "No immunizations on record"):
        assert said in page
    assert "No clinical notes on record" in signed_in(paula).get("/record/notes/").content.decode()


def test_notes_are_listed_newest_first_and_paged(record: User, signed_in: SignIn) -> None:
    client = signed_in(record)
    first = client.get("/record/notes/")
    rows = first.context["page"].rows
    assert len(rows) == 20 and rows == sorted(rows, key=lambda n: n.at, reverse=True)
    assert rows[0].author and rows[0].encounter and rows[0].type == "History and physical note"
    seen = {n.id for n in rows}
    cursor = first.context["page"].next_cursor
    while cursor is not None:
        page = client.get("/record/notes/", {"after": cursor.encode()}).context["page"]
        seen |= {n.id for n in page.rows}
        cursor = page.next_cursor
    assert len(seen) == 44  # patient-24's 42 notes, and the two of the examples


def test_a_note_shows_its_text_escaped_with_its_line_breaks(record: User, signed_in: SignIn) -> None:
    client = signed_in(record)
    synthea = (
        Record.objects.filter(patient=record.patient, kind="DocumentReference")
        .exclude(fhir_id__contains="-note")
        .first()
    )
    assert synthea is not None
    page = client.get(f"/record/notes/{synthea.pk}/").content.decode()
    assert "# History of Present Illness<br>" in page
    latin = client.get(f"/record/notes/{ids(record)['note']}/").content.decode()
    assert "Café au lait, twice daily.<br>See you soon." in latin
    broken = Record.objects.get(fhir_id="broken-note")
    page = client.get(f"/record/notes/{broken.pk}/").content.decode()
    assert "This note cannot be shown here. Ask your care team for a copy." in page


def test_note_text_is_escaped(paula: User, tmp_path: Path, signed_in: SignIn) -> None:
    from portal.records.selectors.notes import decoded_text

    data = base64.b64encode(b"<script>alert(1)</script>\nline two").decode()
    text = decoded_text({"content": [{"attachment": {"contentType": "text/plain", "data": data}}]})
    assert text == "<script>alert(1)</script>\nline two"
    assert (
        decoded_text({"content": [{"attachment": {"contentType": "application/pdf", "data": data}}]}) is None
    )
    assert (
        decoded_text({"content": [{"attachment": {"contentType": "text/plain; charset=nope", "data": data}}]})
        is None
    )


@pytest.mark.parametrize("who", ["eve", "nurse_nolan", "admin_adams"])
def test_everyone_else_gets_404_on_every_url(
    who: str, record: User, signed_in: SignIn, request: pytest.FixtureRequest
) -> None:
    other: User = request.getfixturevalue(who)
    client = signed_in(other)
    urls = staff_urls(record) if other.is_staff_member else []
    urls += [u for u in paula_urls(record) if u.rstrip("/").count("/") > 2]
    if other.is_patient:
        urls += [f"/staff/patients/{record.patient.pk}/record/"]
    for url in urls:
        assert client.get(url).status_code == 404, url
    missing = client.get(
        "/record/notes/999999/"
        if other.is_patient
        else f"/staff/patients/{record.patient.pk}/record/notes/999999/"
    )
    assert missing.status_code == 404


def test_dr_diaz_reads_paulas_record_and_each_read_is_audited(
    record: User, dr_diaz: User, signed_in: SignIn
) -> None:
    client = signed_in(dr_diaz)
    for url in staff_urls(record):
        before = AuditEvent.objects.filter(actor_id=dr_diaz.pk, patient_id=record.patient.pk).count()
        assert client.get(url).status_code == 200, url
        after = AuditEvent.objects.filter(actor_id=dr_diaz.pk, patient_id=record.patient.pk)
        assert after.count() == before + 1, url
        assert after.order_by("-pk").first().action.startswith("records.")  # type: ignore[union-attr]
    assert "Health record of" in client.get(staff_urls(record)[0]).content.decode()


def test_paula_opens_her_record_from_the_menu_and_home(paula: User, signed_in: SignIn) -> None:
    page = signed_in(paula).get("/").content.decode()
    assert page.count('href="/record/"') == 2  # the top menu and the home card


def test_no_record_text_in_urls_nor_side_channels(
    record: User, signed_in: SignIn, side_channels: Any
) -> None:
    client = signed_in(record)
    for url in paula_urls(record):
        page = client.get(url).content.decode()
        links = [part.split('"', 1)[0] for part in page.split('href="')[1:]]
        assert all(link.isascii() and " " not in link for link in links)
    resources = [e["resource"] for e in load(BUNDLES / "patient-24.json")["entry"]]
    condition = next(
        r["code"]["text"]
        for r in resources
        if r["resourceType"] == "Condition" and "disorder" in r["code"]["text"]
    )
    note = next(r for r in resources if r["resourceType"] == "DocumentReference")
    text = base64.b64decode(note["content"][0]["attachment"]["data"]).decode()
    fragment = next(line for line in text.splitlines() if "old" in line).strip()[:60]
    client.get(f"/record/notes/{Record.objects.get(fhir_id=note['id']).pk}/")
    assert side_channels.scan([condition, fragment], clients={"paula": client}) == []


def _rows(paula: User, count: int) -> None:
    """`count` notes for Paula, each with its own date."""
    import tempfile

    from portal.records.actions import do_import_file
    from portal.records.importer import Links, Origin
    from portal.records.tests.helpers import bundle, write
    from portal.records.tests.record_data import note_with

    notes = []
    for n in range(count):
        note = note_with(f"n{count}-{n}", b"hello", "text/plain")
        note["date"] = f"2020-01-{1 + n % 28:02d}T{n % 24:02d}:00:00Z"
        notes.append(note)
    person = {"resourceType": "Patient", "id": f"p{count}", "birthDate": "1986-04-28"}
    for note in notes:
        note["subject"] = {"reference": f"Patient/p{count}"}
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), "rows.json", bundle(person, *notes))
        assert do_import_file(
            path, links=Links(by_source={"rows.json": paula.patient.pk}), origin=Origin("command")
        ).imported


@pytest.mark.parametrize("count", [5, 50])
def test_list_pages_cost_a_fixed_number_of_queries(
    count: int, paula: User, signed_in: SignIn, django_assert_num_queries: Any
) -> None:
    _rows(paula, count)
    client = signed_in(paula)
    client.get("/record/notes/")  # sessions and caches warm
    with django_assert_num_queries(NOTES_QUERIES - 2 + audit_writes()):
        client.get("/record/notes/")
    with django_assert_num_queries(SUMMARY_QUERIES - 2 + audit_writes()):
        client.get("/record/")
    with django_assert_num_queries(LABS_QUERIES - 2 + audit_writes()):
        client.get("/record/labs/")
    with django_assert_num_queries(IMAGING_QUERIES - 2 + audit_writes()):
        client.get("/record/imaging/")


# Counted on SQLite (an audit event costs two queries there, one on PostgreSQL); the user
# comes with their patient record in one query (portal.accounts.backends); the menu's unread
# count (Messages, portal.core.navigation) is one of them.
NOTES_QUERIES = 8
SUMMARY_QUERIES = 9
LABS_QUERIES = 8
IMAGING_QUERIES = 8


def test_labs_list_panels_newest_first_with_their_results(record: User, signed_in: SignIn) -> None:
    page = signed_in(record).get("/record/labs/")
    rows = page.context["page"].rows
    assert rows == sorted(rows, key=lambda p: p.at, reverse=True) and all(p.results for p in rows)


def test_a_panel_shows_values_ranges_and_flags_in_words(record: User, signed_in: SignIn) -> None:
    page = signed_in(record).get(f"/record/labs/{ids(record)['panel']}/").content.decode()
    assert "6.3 mmol/l" in page and "3.1–6.2 mmol/l" in page and "High" in page and "Low" in page
    assert "No reference range given" in page  # f004 gives its range as text only
    assert "Positive" in page and "Abnormal" in page  # a coded value
    assert "Systolic blood pressure" in page and "132 mm[Hg]" in page and "84 mm[Hg]" in page
    assert 'href="/record/labs/trend/15074-8/"' in page


def test_a_trend_draws_the_values_and_lists_them(record: User, signed_in: SignIn) -> None:
    page = signed_in(record).get("/record/labs/trend/15074-8/").content.decode()
    assert 'role="img"' in page
    assert (
        'aria-label="Glucose [Moles/volume] in Blood, 4 results from 2010 to 2013, latest 6.3 mmol/l"' in page
    )
    assert page.count("<tr>") == 5 and "mainSearchCriteria.v.c=15074-8" in page
    assert signed_in(record).get("/record/labs/trend/0000-0/").status_code == 404


def test_a_trend_is_drawn_for_desktops_and_for_phones(record: User, signed_in: SignIn) -> None:
    """Two drawings, one shown by screen width: the narrow one's labels are not a scaled-down desktop's."""
    page = signed_in(record).get("/record/labs/trend/15074-8/").content.decode()
    assert 'class="portal-chart portal-chart--wide" viewBox="0 0 640 260"' in page
    assert 'class="portal-chart portal-chart--narrow" viewBox="0 0 320 220"' in page
    assert page.count('aria-label="Glucose [Moles/volume] in Blood, 4 results') == 2
    assert '<span class="portal-value">6.3 mmol/l</span>' in page


def test_a_charts_value_labels_fit_before_the_plot() -> None:
    from datetime import UTC, datetime

    from portal.records.selectors.labs import NARROW, Point, Trend, chart_of

    points = [Point(datetime(2020 + n, 1, 1, tzinfo=UTC), v, "", "") for n, v in enumerate((1234.5, 20.25))]
    chart = chart_of(Trend("1-8", "Test", "mg", points, None, None), **NARROW)
    longest = max(len(label) for _, label in chart.ticks)
    assert chart.label_x - longest * 0.6 * chart.font >= 0  # the labels start inside the drawing
    assert chart.left < chart.right <= chart.width and chart.date_y < chart.height


def test_imaging_shows_reports_and_studies(record: User, signed_in: SignIn) -> None:
    page = signed_in(record).get("/record/imaging/").content.decode()
    assert "Conclusion:" in page and "CT scan" in page and "Eye photograph" in page
    assert "The report for this study is not available yet." in page


def audit_writes() -> int:
    """Queries one audit event costs: an INSERT on PostgreSQL; the event and its unsealed mark on SQLite."""
    from django.db import connection

    return 1 if connection.vendor == "postgresql" else 2


def test_the_list_of_panels_escapes_a_results_name(paula: User, tmp_path: Path, signed_in: SignIn) -> None:
    """Result names are the EHR's words: shown as text on the list of panels, never as markup."""
    from portal.records.actions import do_import_file
    from portal.records.importer import Links, Origin
    from portal.records.tests.helpers import bundle, glucose, write
    from portal.records.tests.record_data import LAB

    result = glucose("g-markup", "p-markup", 140)
    result["code"]["coding"][0]["display"] = "<script>alert(1)</script> Glucose"
    panel = {
        "resourceType": "DiagnosticReport",
        "id": "panel-markup",
        "status": "final",
        "category": [LAB],
        "code": {"text": "Panel"},
        "subject": {"reference": "Patient/p-markup"},
        "effectiveDateTime": "2024-05-01T09:00:00Z",
        "result": [{"reference": "Observation/g-markup"}],
    }
    person = {"resourceType": "Patient", "id": "p-markup", "birthDate": "1986-04-28"}
    path = write(tmp_path, "markup.json", bundle(person, result, panel))
    links = Links(by_source={"markup.json": paula.patient.pk})
    assert do_import_file(path, links=links, origin=Origin("command")).imported
    page = signed_in(paula).get("/record/labs/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Glucose (High)" in page and "<script>alert" not in page
