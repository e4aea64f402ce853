"""The health record's pages. Mounted twice (portal/urls.py): at `record/` for the signed-in
patient (namespace `record`), and at `staff/patients/<patient_id>/record/` for staff
(namespace `staff_record`), where every view also takes the patient's id. "Who has seen my
record" (`access-log/`) and "Download my record" (`download/...`) are the patient's alone: the
staff mount has the shared pages only."""

from django.urls import path, register_converter

from portal.records.views import downloads, pages


class LoincCode:
    """A LOINC code (`4548-4`): digits and a check digit; nothing else reaches the view."""

    regex = r"[0-9A-Za-z][0-9A-Za-z.\-]{0,31}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(LoincCode, "loinc")

app_name = "record"

# The pages patients and staff share; the patient's alone follow.
shared = [
    path("", pages.summary, name="summary"),
    path("notes/", pages.notes, name="notes"),
    path("notes/<int:note_id>/", pages.note, name="note"),
    path("labs/", pages.labs, name="labs"),
    path("labs/<int:report_id>/", pages.lab_panel, name="lab_panel"),
    path("labs/trend/<loinc:code>/", pages.lab_trend, name="lab_trend"),
    path("imaging/", pages.imaging, name="imaging"),
]

urlpatterns = [
    *shared,
    path("access-log/", pages.access_log, name="access_log"),
    path("download/", downloads.download_page, name="download"),
    path("download/list/", downloads.download_list, name="download_list"),
    path("download/<int:export_id>/", downloads.download_file, name="download_file"),
]
