"""Download my record: Paula asks for her record as FHIR JSON, a PDF or plain text, for
everything or a range of days; the worker makes the file; she downloads it.

Paula's record is the HL7 examples (a flagged lab panel, a blood pressure, notes, radiology)
and, where the test says so, the shared Synthea patient-24 (42 notes). The task runs for real:
on the immediate queue after commit, and in one test on the database queue drained by the
real `db_worker`. Eve (another patient), Dr. Diaz (Paula's own care team) and Alex (an
administrator) get the same 404 as for a missing id: a download is the patient's alone.
"""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Q
from django.test import Client, override_settings
from django.utils import timezone

from conftest import finish_first_steps, sign_in
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.core import jobs
from portal.records.exports.actions import do_make_export, expire_exports
from portal.records.models import EhrPatient, Record, RecordExport
from portal.records.tests.helpers import BUNDLES, load
from portal.records.tests.record_data import import_examples, import_synthea
from portal.records.tests.test_export_formats import pdf_streams
from portal.vault.orphans import sweep_orphan_files
from portal.vault.testing import isolated_vault

__all__ = ["isolated_vault"]

SignIn = Callable[[User], Client]
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
EVERYTHING = {"format": "pdf", "scope": "everything", "starts_on": "", "ends_on": ""}


@pytest.fixture(autouse=True)
def _own_vault(isolated_vault: Path) -> Path:
    """Every test gets its own key file and file store, never the ones under var/."""
    return isolated_vault


@pytest.fixture
def examples(paula: User, tmp_path: Path) -> User:
    import_examples(paula, tmp_path)
    return paula


def ask(client: Client, capture: Any, **fields: str) -> Any:
    """Post the form; the task runs (for real) when the request's transaction commits."""
    with capture(execute=True):
        return client.post("/record/download/", {**EVERYTHING, **fields})


def latest(paula: User) -> RecordExport:
    return RecordExport.objects.filter(patient=paula.patient).latest("pk")


def download(client: Client, export: RecordExport) -> Any:
    response = client.get(f"/record/download/{export.pk}/")
    assert response.status_code == 200, response.status_code
    return response


def another_client(user: User) -> Client:
    """A browser of its own, signed in as `user` (the `signed_in` fixture's client is Paula's)."""
    finish_first_steps(user)
    client = Client()
    assert sign_in(client, user).status_code == 302
    return client


def made_on() -> str:
    today = timezone.localdate()
    return f"{today:%B} {today.day}, {today.year}"


# --- the PDF, read back ---------------------------------------------------------------------------


def pdf_pages(content: bytes) -> list[bytes]:
    """The decompressed content stream of each page, in order (fpdf2 writes one per page)."""
    pages = [s for s in pdf_streams(content) if b" Tj" in s]
    assert len(pages) == len(re.findall(rb"/Type /Page\b(?!s)", content))
    return pages


def shown(text: str) -> bytes:
    """Text as the PDF's standard font writes it (Windows-1252, parentheses escaped)."""
    return text.encode("cp1252").replace(b"(", b"\\(").replace(b")", b"\\)")


# --- each format ----------------------------------------------------------------------------------


def test_the_pdf_has_every_section_and_the_name_birth_date_and_day_on_every_page(
    examples: User, signed_in: SignIn, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in(examples)
    response = ask(client, django_capture_on_commit_callbacks, format="pdf")
    assert response.status_code == 302
    said = client.get(response["Location"]).content.decode()
    assert "We are preparing your PDF download." in said  # the task ran after the response
    export = latest(examples)
    assert export.status == "ready" and export.size
    assert do_make_export(export.pk) == "nothing to do"  # the task again: harmless
    file = download(client, export)
    content = file.content
    assert content.startswith(b"%PDF-")
    assert file["Content-Type"] == "application/pdf"
    assert file["Content-Disposition"] == f'attachment; filename="health-record-{timezone.localdate()}.pdf"'
    assert file["Cache-Control"] == "no-store"
    pages = pdf_pages(content)
    assert len(pages) >= 2
    head = shown(f"Paula Quill · Date of birth: April 28, 1986 · Made on {made_on()}")
    assert all(head in page for page in pages)
    total = f"({len(pages)}) Tj".encode()  # fpdf2 writes the page count after the pages are made
    assert all(shown(f"Page {n} of ") in page and total in page for n, page in enumerate(pages, start=1))
    everything = b"".join(pages)
    for heading in ("Conditions", "Allergies", "Immunizations", "Vital signs", "Lab results"):
        assert shown(heading) in everything, heading
    for heading in ("Clinical notes", "Imaging reports", "Imaging studies"):
        assert shown(heading) in everything, heading
    assert shown("Blood chemistry panel, April 3, 2013") in everything
    assert shown("6.3 mmol/l") in everything and shown("3.1–6.2 mmol/l") in everything  # an en dash
    assert shown("High") in everything and shown("Positive") in everything
    assert shown("Café au lait, twice daily.") in everything  # a note's text, decoded from latin-1
    assert shown("This note cannot be shown here. Ask your care team for a copy.") in everything
    assert b"/Title (Health record)" in content


def test_the_text_has_headings_and_values_for_a_screen_reader(
    examples: User, signed_in: SignIn, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in(examples)
    ask(client, django_capture_on_commit_callbacks, format="text")
    file = download(client, latest(examples))
    assert file["Content-Type"] == "text/plain; charset=utf-8"
    assert file["Content-Disposition"].endswith(f'health-record-{timezone.localdate()}.txt"')
    text = file.content.decode()
    assert text.startswith(
        "Health record of Paula Quill\n\nName: Paula Quill\nDate of birth: April 28, 1986\n"
    )
    assert f"Made on: {made_on()}\nCovers: Everything in your record\n" in text
    # The record's eight sections, then the other domains' parts (her visits the EHR sent, as appointments).
    parts = text.count("\n\nSection ")
    assert parts >= 8
    for number, heading in enumerate(
        [
            "Conditions",
            "Allergies",
            "Immunizations",
            "Vital signs",
            "Lab results",
            "Clinical notes",
            "Imaging reports",
            "Imaging studies",
        ],
        start=1,
    ):
        assert f"\n\nSection {number} of {parts}: {heading}\n\n" in text
    assert "\nBlood chemistry panel, April 3, 2013:\n" in text
    assert (
        "Test: Glucose [Moles/volume] in Blood\nValue: 6.3 mmol/l\nReference range: 3.1–6.2 mmol/l\nFlag: High\n"
        in text
    )
    assert "Test: Systolic blood pressure\nValue: 132 mm[Hg]\n" in text
    assert "Note:\nCafé au lait, twice daily.\nSee you soon.\nEnd of note.\n" in text
    assert "No allergies on record." in text
    assert "|" not in text and "---" not in text  # no table drawn with characters


def test_the_fhir_bundle_is_what_was_imported_and_validates(
    examples: User, signed_in: SignIn, django_capture_on_commit_callbacks: Any
) -> None:
    from fhir.resources.R4B.bundle import Bundle

    client = signed_in(examples)
    ask(client, django_capture_on_commit_callbacks, format="fhir")
    file = download(client, latest(examples))
    assert file["Content-Type"] == "application/fhir+json"
    assert file["Content-Disposition"].endswith(f'health-record-{timezone.localdate()}.json"')
    bundle = json.loads(file.content)
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    resources = [entry["resource"] for entry in bundle["entry"]]
    assert resources[0]["resourceType"] == "Patient" and resources[0]["id"] == "paula-examples"
    assert len(resources) == 1 + Record.objects.filter(patient=examples.patient).count()
    strep = next(r for r in resources if r["id"] == "strep")
    assert strep["valueCodeableConcept"]["coding"][0]["display"] == "Positive"
    assert {r["id"] for r in resources} >= {"panel-f", "latin-note", "example"}  # undated "example" too


def test_a_synthea_record_downloads_whole_in_each_format(
    paula: User, signed_in: SignIn, django_capture_on_commit_callbacks: Any
) -> None:
    from fhir.resources.R4B.bundle import Bundle

    import_synthea(paula, "patient-24.json")
    client = signed_in(paula)
    for kind in ("fhir", "pdf", "text"):
        ask(client, django_capture_on_commit_callbacks, format=kind)
    fhir, pdf, text = (download(client, e).content for e in RecordExport.objects.order_by("pk"))
    bundle = json.loads(fhir)
    Bundle.model_validate(bundle)
    kept = Record.objects.filter(patient=paula.patient).count() + EhrPatient.objects.count()
    assert len(bundle["entry"]) == kept
    source = {e["resource"]["id"]: e["resource"] for e in load(BUNDLES / "patient-24.json")["entry"]}
    assert all(entry["resource"] == source[entry["resource"]["id"]] for entry in bundle["entry"])
    assert all(e["fullUrl"] == f"urn:uuid:{e['resource']['id']}" for e in bundle["entry"])
    pages = pdf_pages(pdf)
    assert len(pages) > 20
    assert all(shown("Paula Quill · Date of birth: April 28, 1986") in page for page in pages)
    notes = text.decode().count("\nEnd of note.\n")
    assert (
        notes == Record.objects.filter(patient=paula.patient, kind="DocumentReference", has_text=True).count()
    )


# --- a range of days --------------------------------------------------------------------------------


def test_a_range_holds_only_what_is_dated_inside_it(
    examples: User, signed_in: SignIn, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in(examples)
    ranged = {"scope": "range", "starts_on": "04/01/2013", "ends_on": "2013-04-03"}
    ask(client, django_capture_on_commit_callbacks, format="text", **ranged)
    text = download(client, latest(examples)).content.decode()
    assert "Covers: From April 1, 2013 to April 3, 2013" in text
    assert "Blood chemistry panel, April 3, 2013" in text
    assert "Café au lait" not in text  # the note of April 4
    assert "No clinical notes on record in these dates." in text

    ask(client, django_capture_on_commit_callbacks, format="fhir", **ranged)
    bundle = json.loads(download(client, latest(examples)).content)
    ids = {entry["resource"]["id"] for entry in bundle["entry"]}
    assert {"paula-examples", "panel-f", "strep", "bp"} <= ids
    assert not ids & {"latin-note", "glucose-2010", "example"}  # April 4, 2010, and undated
    dated = Record.objects.filter(
        patient=examples.patient, effective_at__date__range=(date(2013, 4, 1), date(2013, 4, 3))
    )
    assert len(ids) == 1 + dated.count()

    page = client.get("/record/download/").content.decode()
    assert "From April 1, 2013 to April 3, 2013" in page and "Everything in your record" not in page


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        ({"starts_on": "", "ends_on": "12/31/2013"}, "starts_on", "Enter the first day of the range, for example 01/31/2024, or choose everything."),
        ({"starts_on": "31/12/2013", "ends_on": "12/31/2013"}, "starts_on", "The month of the first day must be from 1 to 12"),
        ({"starts_on": "01/01/2013", "ends_on": "02/30/2013"}, "ends_on", "February 2013 has 28 days: correct the day of the last day."),
        ({"starts_on": "yesterday", "ends_on": "12/31/2013"}, "starts_on", "Enter the first day as month/day/year, for example 01/31/2024."),
        ({"starts_on": "01/01/1850", "ends_on": "12/31/2013"}, "starts_on", "Enter the first day with a year from 1900 on."),
        ({"starts_on": "12/31/2013", "ends_on": "01/01/2013"}, "ends_on", "The last day (January 1, 2013) is before the first day (December 31, 2013): swap them, or correct one."),
        ({"starts_on": "01/01/2999", "ends_on": "01/02/2999"}, "starts_on", "The first day is after today"),
    ],
)  # fmt: skip
def test_a_bad_day_is_said_in_words_on_its_field_and_what_was_typed_stays(
    paula: User, signed_in: SignIn, typed: dict[str, str], field: str, message: str
) -> None:
    client = signed_in(paula)
    response = client.post("/record/download/", {"format": "text", "scope": "range", **typed})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    summary = page.split("data-error-summary>", 1)[1].split("</div>", 1)[0]
    assert f'href="#id_{field}"' in summary and message in summary  # the summary at the top links to it
    assert 'aria-invalid="true"' in page and f'id="id_{field}-error"' in page
    for value in typed.values():
        assert f'value="{value}"' in page or value == ""
    assert 'value="text" checked' in page and 'value="range" checked' in page
    assert not RecordExport.objects.exists()


def test_everything_ignores_days_typed_and_a_missing_format_is_said(paula: User, signed_in: SignIn) -> None:
    client = signed_in(paula)
    response = client.post("/record/download/", {"scope": "everything", "starts_on": "nonsense"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'href="#id_format_0">Choose a format: FHIR JSON, PDF or plain text.</a>' in page
    assert "nonsense" in page and "month/day/year, for example 01/31/2024." not in page.split("<form")[0]


# --- who may download -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["eve", "dr_diaz", "admin_adams"])
def test_everyone_but_paula_gets_the_404_of_a_missing_download(
    who: str,
    examples: User,
    signed_in: SignIn,
    request: pytest.FixtureRequest,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ask(signed_in(examples), django_capture_on_commit_callbacks, format="text")
    export = latest(examples)
    other: User = request.getfixturevalue(who)
    client = another_client(other)
    assert client.get(f"/record/download/{export.pk}/").status_code == 404
    assert client.get("/record/download/999999/").status_code == 404
    denied = AuditEvent.objects.filter(action="access.denied", actor_id=other.pk, object_id=str(export.pk))
    assert denied.count() == 1
    if other.is_patient:  # Eve's own page lists her downloads only
        page = client.get("/record/download/").content.decode()
        assert "You have not asked for a download yet." in page
    else:  # staff have no download pages, for their patients either
        assert client.get("/record/download/").status_code == 404
        assert client.get(f"/staff/patients/{examples.patient.pk}/record/download/").status_code == 404
        assert (
            "Download my record"
            not in client.get(f"/staff/patients/{examples.patient.pk}/record/").content.decode()
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post("/record/download/", EVERYTHING).status_code == 404
    assert RecordExport.objects.count() == 1


# --- at rest, side channels, audit ------------------------------------------------------------------


def test_the_file_is_sealed_at_rest_and_nothing_of_it_reaches_a_side_channel(
    examples: User,
    signed_in: SignIn,
    side_channels: Any,
    isolated_vault: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = signed_in(examples)
    for kind in ("fhir", "pdf", "text"):
        ask(client, django_capture_on_commit_callbacks, format=kind)
        content = download(client, latest(examples)).content
        readable = b"".join(pdf_pages(content)) if kind == "pdf" else content
        assert b"Strep A antigen" in readable and (kind == "fhir" or b"twice daily" in readable)
    store = isolated_vault / "vault-files"
    names = {e.storage_name for e in RecordExport.objects.all()}
    assert len(names) == 3 and all((store / name).is_file() for name in names)
    markers = ["twice daily", "Strep A antigen", "Blood chemistry panel", "erythematous", "Glucose [Moles"]
    assert side_channels.scan(markers, clients={"paula": client}, folders=(store,)) == []


def test_every_read_write_and_download_is_audited_with_ids_only(
    examples: User, signed_in: SignIn, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in(examples)
    client.get("/record/download/")
    ask(
        client,
        django_capture_on_commit_callbacks,
        format="pdf",
        scope="range",
        starts_on="1/1/2013",
        ends_on="12/31/2013",
    )
    export = latest(examples)
    client.get("/record/download/")
    download(client, export)
    events = AuditEvent.objects.filter(
        Q(action__contains="download") | Q(action__startswith="records.export"),
        patient_id=examples.patient.pk,
    )
    found = {(e.action, e.actor_id, e.object_id): e.details for e in events}
    pk = str(export.pk)
    assert found[("records.export_requested", examples.pk, pk)] == {"format": "pdf", "everything": False}
    made = found[("records.export_made", examples.pk, pk)]
    assert made["format"] == "pdf" and made["entries"] > 10 and made["size"] == export.size
    assert found[("records.export_downloaded", examples.pk, pk)] == {"format": "pdf"}
    viewed = AuditEvent.objects.filter(action="records.download_viewed", actor_id=examples.pk)
    assert viewed.count() == 2  # the page, before and after asking; refreshes of the list are not reads
    assert found[("records.download_viewed", examples.pk, str(examples.patient.pk))] == {}
    client.get("/record/download/list/")
    assert AuditEvent.objects.filter(action="records.download_viewed").count() == 2


# --- the real queue, preparing, failing ---------------------------------------------------------------


def run_worker() -> str:
    """Drain the database queue with the real worker, as `run_worker` does."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    out = StringIO()
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=out, stderr=out)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_on_the_database_queue_the_page_says_preparing_until_the_worker_made_it(
    examples: User, signed_in: SignIn
) -> None:
    from django_tasks_db.models import DBTaskResult

    client = signed_in(examples)
    with override_settings(TASKS=DB_TASKS):
        response = client.post("/record/download/", {**EVERYTHING, "format": "text"}, follow=True)
        page = response.content.decode()
        assert "We are preparing your plain text download." in page
        assert "Preparing…" in page and 'data-preparing="1"' in page
        export = latest(examples)
        task = DBTaskResult.objects.get()
        assert task.args_kwargs == {"args": [export.pk], "kwargs": {}}  # the payload is the id alone
        early = client.get(f"/record/download/{export.pk}/", follow=True)
        assert early.redirect_chain[-1][0] == "/record/download/"
        assert "That download is still being prepared" in early.content.decode()
        run_worker()
        listed = client.get("/record/download/list/").content.decode()
        assert 'data-preparing="0"' in listed and f'href="/record/download/{export.pk}/"' in listed
        assert str(DBTaskResult.objects.get().return_value) == "ready"
        assert download(client, export).content.startswith(b"Health record of Paula Quill")


def test_more_than_three_at_once_is_refused_in_words(paula: User, signed_in: SignIn) -> None:
    client = signed_in(paula)
    for _ in range(3):  # no commit callbacks run: they stay preparing
        assert client.post("/record/download/", EVERYTHING).status_code == 302
    response = client.post("/record/download/", {**EVERYTHING, "format": "fhir"})
    assert response.status_code == 400
    assert "3 downloads are being prepared already. Wait until one is ready" in response.content.decode()
    assert 'value="fhir" checked' in response.content.decode()
    assert RecordExport.objects.count() == 3


def test_a_file_store_that_refuses_fails_the_download_with_what_to_do(
    examples: User, signed_in: SignIn, settings: Any, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "vault": {**settings.STORAGES["vault"], "OPTIONS": {"location": str(blocked)}},
    }
    client = signed_in(examples)
    ask(client, django_capture_on_commit_callbacks, format="pdf")
    export = latest(examples)
    assert export.status == "failed" and export.failure == "file_store" and not export.storage_name
    page = client.get("/record/download/").content.decode()
    assert "Failed." in page and "It could not be kept just now. Ask for it again in a few minutes." in page
    assert AuditEvent.objects.filter(action="records.export_failed", object_id=str(export.pk)).exists()


# --- expiry ---------------------------------------------------------------------------------------------


def test_the_job_deletes_an_expired_download_and_its_file(
    examples: User,
    signed_in: SignIn,
    isolated_vault: Path,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.PORTAL_RECORD_EXPORT_HOURS = 2
    client = signed_in(examples)
    ask(client, django_capture_on_commit_callbacks, format="pdf")
    export = latest(examples)
    assert export.expires_at is not None and export.ready_at is not None
    assert export.expires_at - export.ready_at == timedelta(hours=2)
    stored = isolated_vault / "vault-files" / export.storage_name
    assert stored.is_file()
    # The vault's orphan sweep keeps a file a download's row names.
    assert sweep_orphan_files(now=timezone.now() + timedelta(days=1), older_than=timedelta(0)).removed == []

    job = jobs.get("records.export_expiry")
    assert jobs.run(job, now=export.expires_at - timedelta(minutes=1), force=True).result.startswith(
        "0 download(s) expired"
    )
    assert stored.is_file()
    outcome = jobs.run(job, now=export.expires_at + timedelta(minutes=1), force=True)
    assert outcome.result.startswith("1 download(s) expired")
    assert not stored.exists()
    export.refresh_from_db()
    assert export.status == "expired" and export.storage_name == ""
    assert AuditEvent.objects.filter(action="records.export_expired", object_id=str(export.pk)).count() == 1
    response = client.get(f"/record/download/{export.pk}/", follow=True)
    assert "That download has expired and was deleted. Ask for a new one below." in response.content.decode()
    assert "Expired" in response.content.decode()

    expire_exports(export.expires_at + timedelta(days=8))  # a week on, the row goes too
    assert not RecordExport.objects.filter(pk=export.pk).exists()


def test_a_ready_download_past_its_time_is_not_served_even_before_the_job_runs(
    examples: User, signed_in: SignIn, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in(examples)
    ask(client, django_capture_on_commit_callbacks, format="text")
    RecordExport.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    page = client.get(f"/record/download/{latest(examples).pk}/", follow=True).content.decode()
    assert "That download has expired" in page
    assert not AuditEvent.objects.filter(action="records.export_downloaded").exists()


def test_a_download_whose_task_was_lost_is_failed_by_the_job(paula: User, signed_in: SignIn) -> None:
    client = signed_in(paula)
    client.post("/record/download/", EVERYTHING)  # its task never runs: no commit here
    export = latest(paula)
    assert expire_exports(export.requested_at + timedelta(minutes=30)).startswith(
        "0 download(s) expired, 0 timed out"
    )
    assert expire_exports(export.requested_at + timedelta(hours=2)).startswith(
        "0 download(s) expired, 1 timed out"
    )
    export.refresh_from_db()
    assert export.status == "failed" and export.failure == "timed_out"
    assert (
        "It took too long to prepare. Ask for it again." in client.get("/record/download/").content.decode()
    )


# --- the page ---------------------------------------------------------------------------------------


def test_the_page_is_in_the_record_menu_and_lists_the_latest_downloads(
    paula: User, signed_in: SignIn
) -> None:
    client = signed_in(paula)
    summary = client.get("/record/").content.decode()
    assert '<a href="/record/download/">Download my record</a>' in summary
    page = client.get("/record/download/").content.decode()
    assert 'aria-current="page">Download my record</a>' in page
    assert "You have not asked for a download yet." in page
    assert 'role="status"' in page and "record-download.js" in page


@pytest.mark.parametrize("count", [2, 10])
def test_the_page_costs_a_fixed_number_of_queries(
    count: int, paula: User, signed_in: SignIn, django_assert_num_queries: Any
) -> None:
    client = signed_in(paula)
    RecordExport.objects.bulk_create(
        RecordExport(
            patient=paula.patient, requested_by=paula, format="pdf", status="failed", failure="error"
        )
        for _ in range(count)
    )
    client.get("/record/download/")  # sessions and caches warm
    with django_assert_num_queries(DOWNLOAD_PAGE_QUERIES - 2 + audit_writes()):
        client.get("/record/download/")
    with django_assert_num_queries(DOWNLOAD_LIST_QUERIES):
        client.get("/record/download/list/")


# Counted on SQLite (an audit event costs two queries there, one on PostgreSQL); one of them is
# the menu's unread count of Messages (portal.core.navigation, on every page).
DOWNLOAD_PAGE_QUERIES = 7
DOWNLOAD_LIST_QUERIES = 4


def audit_writes() -> int:
    from django.db import connection

    return 1 if connection.vendor == "postgresql" else 2


def test_nothing_is_committed_when_the_request_rolls_back(paula: User) -> None:
    from portal.core.acting import Actor
    from portal.records.exports.actions import check_request_export
    from portal.records.selectors.reading import EVERYTHING as ALL

    with pytest.raises(RuntimeError), transaction.atomic():
        check_request_export(by=Actor(paula), format="pdf", period=ALL)
        raise RuntimeError
    assert not RecordExport.objects.exists()
