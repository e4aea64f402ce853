"""`manage.py import_fhir FILES_OR_FOLDERS... [--link ...]`: import FHIR R4 bundles from the EHR."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.records.actions import do_import_file
from portal.records.importer import BundleResult, Links, Origin


def bundle_files(paths: list[str]) -> list[Path]:
    """The files named, in the order given; a folder gives its .json files by name."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise CommandError(f"{name}: no such file or folder.")
    return found


def parse_links(given: list[str]) -> Links:
    """`patient-10.json=<portal patient id>` or `<FHIR Patient id>=<DoD ID>`."""
    by_source: dict[str, int] = {}
    by_fhir_id: dict[str, str] = {}
    for link in given:
        left, equals, right = link.partition("=")
        if not equals or not left or not right:
            raise CommandError(f"--link {link!r}: write FILE.json=PATIENT_ID or FHIR_PATIENT_ID=DOD_ID.")
        if left.endswith(".json"):
            if not right.isdigit():
                raise CommandError(
                    f"--link {link!r}: after a file name comes a portal patient id (a number)."
                )
            by_source[Path(left).name] = int(right)
        else:
            if not (len(right) == 10 and right.isdigit()):
                raise CommandError(f"--link {link!r}: after a FHIR Patient id comes a DoD ID (10 digits).")
            by_fhir_id[left] = right
    return Links(by_source=by_source, by_fhir_id=by_fhir_id)


class Command(BaseCommand):
    help = (
        "Import FHIR R4 bundles (transaction, batch or collection) from files or folders, in the order "
        "given (import provider bundles first). Each bundle imports whole or not at all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="Bundle files, or folders of them")
        parser.add_argument(
            "--link",
            action="append",
            default=[],
            help="FILE.json=PORTAL_PATIENT_ID or FHIR_PATIENT_ID=DOD_ID, for a patient without a DoD ID identifier",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        files = bundle_files(options["paths"])
        links = parse_links(options["link"])
        tty = self.stdout.isatty()  # a progress bar only on a terminal
        started = time.perf_counter()
        results: list[BundleResult] = []
        for number, path in enumerate(files, start=1):
            if tty:
                self._progress(number - 1, len(files))
            result = do_import_file(path, links=links, origin=Origin("command"))
            results.append(result)
            if not result.imported:
                if tty:
                    self.stdout.write("\r\033[K", ending="")
                self.stderr.write(f"{path.name}: refused, nothing of it was imported:")
                for problem in result.problems[:20]:
                    self.stderr.write(f"  {path.name}: {problem}")
                if len(result.problems) > 20:
                    self.stderr.write(f"  ... and {len(result.problems) - 20} more")
        if tty:
            self._progress(len(files), len(files))
            self.stdout.write("")
        self._summary(results, time.perf_counter() - started)
        if any(not r.imported for r in results):
            raise CommandError(
                f"{sum(not r.imported for r in results)} of {len(results)} bundles were refused."
            )

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} bundles", ending="")
        self.stdout.flush()

    def _summary(self, results: list[BundleResult], seconds: float) -> None:
        imported = [r for r in results if r.imported]
        entries = sum(r.entries for r in imported)
        self.stdout.write(
            f"Bundles: {len(imported)} imported, {len(results) - len(imported)} refused; "
            f"{entries} entries in {seconds:.1f} s."
        )
        by_kind: dict[str, Counter[str]] = {}
        for result in imported:
            for kind, counts in result.counts.items():
                by_kind.setdefault(kind, Counter()).update(counts)
        states = ("created", "updated", "unchanged", "older", "skipped")
        self.stdout.write(f"{'resource':<26}" + "".join(f"{s:>10}" for s in states))
        for kind in sorted(by_kind):
            self.stdout.write(f"{kind:<26}" + "".join(f"{by_kind[kind][s]:>10}" for s in states))
