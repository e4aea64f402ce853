"""Reading a bundle: size and depth guards, JSON, and the Bundle's shape, before anything is stored.

Whatever is wrong is said in words an operator (or the EHR's interface engine) can act
on: which file, which entry, which resource, and why. Nothing of the content is quoted
back: a message names places, never values.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

BUNDLE_TYPES = ("transaction", "batch", "collection")
# FHIR resources nest a dozen levels at most; a file nested deeper is not a resource.
MAX_DEPTH = 64


@dataclass(frozen=True)
class Problem:
    """Why a bundle was refused: where (entry, resource type and id) and what to do."""

    reason: str
    entry: int | None = None
    kind: str = ""
    fhir_id: str = ""

    def __str__(self) -> str:
        where = []
        if self.entry is not None:
            where.append(f"entry {self.entry}")
        if self.kind:
            where.append(f"{self.kind}/{self.fhir_id}" if self.fhir_id else self.kind)
        return f"{' '.join(where)}: {self.reason}" if where else self.reason


class BundleRefused(Exception):
    """The bundle imports nothing, for these reasons."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Entry:
    index: int
    kind: str
    fhir_id: str
    full_url: str
    resource: dict[str, Any]
    method: str


@dataclass
class ParsedBundle:
    source: str
    bundle_type: str
    entries: list[Entry] = field(default_factory=list)


def refuse(reason: str, **where: Any) -> BundleRefused:
    return BundleRefused([Problem(reason, **where)])


def read_file(path: Path) -> ParsedBundle:
    """The bundle in `path`, refused by its size before a byte of it is read."""
    most = settings.PORTAL_FHIR_MAX_BYTES
    try:
        size = os.stat(path).st_size
    except OSError as error:
        raise refuse(f"cannot be read ({error.strerror})") from None
    if size > most:
        raise refuse(f"is {size:,} bytes, over the {most:,} a bundle may have (PORTAL_FHIR_MAX_BYTES)")
    return parse_bytes(path.read_bytes(), source=path.name)


def parse_bytes(raw: bytes, *, source: str) -> ParsedBundle:
    if len(raw) > settings.PORTAL_FHIR_MAX_BYTES:
        raise refuse(f"is over the {settings.PORTAL_FHIR_MAX_BYTES:,} bytes a bundle may have")
    if not raw.strip():
        raise refuse("is empty: expected a FHIR Bundle in JSON")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise refuse("is nested more deeply than any FHIR resource: not a bundle") from None
    except UnicodeDecodeError:
        raise refuse("is not UTF-8 text: expected a FHIR Bundle in JSON") from None
    except json.JSONDecodeError as error:
        ended = error.pos >= len(raw.rstrip()) or error.msg.startswith("Unterminated")
        hint = "it ends too early (truncated?)" if ended else error.msg
        raise refuse(f"is not valid JSON at line {error.lineno}, column {error.colno}: {hint}") from None
    return parse_bundle(data, source=source)


def parse_bundle(data: Any, *, source: str) -> ParsedBundle:
    if not isinstance(data, dict):
        raise refuse("is JSON but not a FHIR resource (expected an object with resourceType Bundle)")
    if data.get("resourceType") != "Bundle":
        found = data.get("resourceType")
        said = f"resourceType {found!r}"[:60] if isinstance(found, str) else "no resourceType"
        raise refuse(f"has {said}: expected a Bundle")
    bundle_type = data.get("type")
    if bundle_type not in BUNDLE_TYPES:
        raise refuse(f"is a Bundle of type {str(bundle_type)[:30]!r}: expected {', '.join(BUNDLE_TYPES)}")
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        raise refuse("has an entry that is not a list")
    parsed = ParsedBundle(source=source, bundle_type=bundle_type)
    problems = []
    for index, item in enumerate(entries):
        try:
            parsed.entries.append(_entry(index, item))
        except BundleRefused as refused:
            problems += refused.problems
    if problems:
        raise BundleRefused(problems)
    return parsed


def _entry(index: int, item: Any) -> Entry:
    if not isinstance(item, dict):
        raise refuse("is not an object", entry=index)
    resource = item.get("resource")
    if not isinstance(resource, dict):
        raise refuse("has no resource", entry=index)
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or not kind.isalpha() or len(kind) > 40:
        raise refuse("has a resource without a resourceType", entry=index)
    full_url = item.get("fullUrl") or ""
    fhir_id = resource.get("id")
    if fhir_id is None and isinstance(full_url, str) and full_url.startswith("urn:uuid:"):
        fhir_id = full_url.removeprefix("urn:uuid:")
    if not isinstance(fhir_id, str) or not fhir_id or len(fhir_id) > 64:
        raise refuse("has no id (nor a urn:uuid fullUrl to take one from)", entry=index, kind=kind)
    request = item.get("request") or {}
    method = request.get("method", "PUT") if isinstance(request, dict) else "PUT"
    if method not in ("POST", "PUT"):
        raise refuse(f"asks for {str(method)[:10]}: only POST and PUT are imported", entry=index, kind=kind)
    return Entry(index, kind, fhir_id, full_url if isinstance(full_url, str) else "", resource, method)


def too_deep(value: Any) -> bool:
    """True if `value` nests deeper than any FHIR resource does (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values() if isinstance(v, (dict, list))]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item if isinstance(v, (dict, list))]
    return False
