"""Download my record: the page (ask for a file, see the latest ones), its refresh, the file.

For the signed-in patient only (`patient_of`, and the export door for a file): staff read the
record's pages and have no such page, and every other user gets the 404 of a missing page.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from portal.clinics.access import patient_of
from portal.core.acting import Refused, actor_of
from portal.records.access import access_record_export
from portal.records.exports import actions
from portal.records.forms import ExportForm
from portal.records.selectors import export as exports

READY_SOON = "We are preparing your {format} download. It appears in the list below when it is ready."
READY_NOW = "Your {format} download is ready: it is first in the list below."


def _context(request: HttpRequest, **more: Any) -> dict[str, Any]:
    patient = patient_of(actor_of(request).user)
    base = reverse("record:summary")
    return {
        "base": base,
        "for_staff": False,
        "record_patient": patient,
        "current": "download",
        "hours": settings.PORTAL_RECORD_EXPORT_HOURS,
        **more,
    }


@login_required
@require_http_methods(["GET", "POST"])
def download_page(request: HttpRequest) -> HttpResponse:
    by = actor_of(request)
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            export = actions.check_request_export(
                by=by, format=form.cleaned_data["format"], period=form.period()
            )
        except Refused as refused:
            form.add_error(refused.field, refused.message)
        else:
            # A small record on an idle worker (or the immediate queue) may be made already.
            said = READY_NOW if exports.is_made(export) else READY_SOON
            messages.success(request, said.format(format=exports.IN_A_SENTENCE[export.format]))
            return redirect("record:download")
    downloads = exports.downloads_of(by)
    return render(
        request,
        "records/download.html",
        _context(request, form=form, downloads=downloads, preparing=_preparing(downloads)),
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_GET
def download_list(request: HttpRequest) -> HttpResponse:
    """The list alone, for the page's script to refresh while a download is being prepared.
    It shows the downloads' state (no health information) and is not audited as a read."""
    downloads = exports.downloads_of(actor_of(request), audit=False)
    return render(
        request, "records/download_list.html", {"downloads": downloads, "preparing": _preparing(downloads)}
    )


@login_required
@require_GET
def download_file(request: HttpRequest, export_id: int) -> HttpResponse:
    by = actor_of(request)
    export = access_record_export(by.user, export_id)
    if not exports.is_downloadable(export):
        messages.info(request, _not_ready(export.status))
        return redirect("record:download")
    content = exports.export_file(export)
    actions.do_record_export_download(by=by, export=export)
    response = HttpResponse(content, content_type=exports.CONTENT_TYPES[export.format])
    response["Content-Disposition"] = f'attachment; filename="{exports.file_name(export)}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _preparing(downloads: list[exports.ExportLine]) -> int:
    return sum(1 for line in downloads if line.status == "preparing")


def _not_ready(status: str) -> str:
    if status == "preparing":
        return "That download is still being prepared: it appears in the list when it is ready."
    if status == "failed":
        return "That download could not be made. Ask for it again below."
    return "That download has expired and was deleted. Ask for a new one below."
