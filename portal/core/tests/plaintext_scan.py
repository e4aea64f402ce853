"""Look for known plaintext everywhere health information must never be: side channels.

A `PlaintextScan` is given marker strings (synthetic words a test typed into a
subject, a body, a note, a file name or a file's content) and then looks for
them, ignoring case, in each place it is pointed at: captured log records, every
table of the database (session rows decoded, task queue payloads included),
every configured cache, a directory of files, sent e-mails (decoded part by
part, so quoted-printable or base64 hides nothing) and the test client's
cookies. Each hit is kept as a `Finding` naming the place; a test asserts there
are none.

It fails closed: a cache backend it does not know how to read is itself a
finding, so a new backend cannot be silently left unscanned.
"""

from __future__ import annotations

import base64
import email
import email.policy
import logging
import pickle
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import caches
from django.core.mail import EmailMessage
from django.db import connections
from django.http import HttpRequest
from django.test import Client


@dataclass(frozen=True)
class Finding:
    place: str
    marker: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.marker!r} in {self.place}: ...{self.excerpt}..."


class CapturingHandler(logging.Handler):
    """Keeps every record, at every level, before any filter or formatter touches it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def every_log_record(*, sql: bool = True) -> Iterator[CapturingHandler]:
    """Capture every logger at DEBUG (SQL with its parameters included) for the block's duration.

    Levels, handlers and `logging.disable` are put back afterwards. Loggers that do
    not propagate get the handler directly, so none escapes.
    """
    handler = CapturingHandler()
    manager = logging.root.manager
    loggers = [logging.root] + [lg for lg in manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    saved_levels = {lg: lg.level for lg in loggers}
    saved_disable = manager.disable
    direct = [lg for lg in loggers if lg is not logging.root and not lg.propagate]
    saved_debug_cursor = {alias: connections[alias].force_debug_cursor for alias in connections}
    logging.disable(logging.NOTSET)
    logging.captureWarnings(True)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    # First in line: the portal's console handler redacts records in place, and this
    # handler must see them as they were made.
    logging.root.handlers.insert(0, handler)
    for lg in direct:
        lg.addHandler(handler)
    if sql:
        # django.db.backends logs every query with its parameters only when this is on
        # (or DEBUG is): the ciphertext goes to the log, and plaintext must not.
        for alias in connections:
            connections[alias].force_debug_cursor = True
    try:
        yield handler
    finally:
        for alias, value in saved_debug_cursor.items():
            connections[alias].force_debug_cursor = value
        for lg in direct:
            lg.removeHandler(handler)
        logging.root.removeHandler(handler)
        for lg, level in saved_levels.items():
            lg.setLevel(level)
        logging.captureWarnings(False)
        logging.disable(saved_disable)


@dataclass
class PlaintextScan:
    markers: Sequence[str]
    findings: list[Finding] = field(default_factory=list)
    places: list[str] = field(default_factory=list)

    # --- the primitive: one value in one place ---------------------------------------------------

    def value(self, place: str, value: Any) -> None:
        self.places.append(place)
        for text in _texts(value):
            lowered = text.lower()
            for marker in self.markers:
                at = lowered.find(marker.lower())
                if at >= 0:
                    excerpt = text[max(0, at - 40) : at + len(marker) + 40]
                    self.findings.append(Finding(place, marker, excerpt))

    # --- logs ---------------------------------------------------------------------------------------

    def log_records(self, records: Iterable[logging.LogRecord]) -> int:
        count = 0
        for record in records:
            count += 1
            place = f"log record {record.name} {record.levelname}"
            try:
                self.value(f"{place} (message)", record.getMessage())
            except (TypeError, ValueError) as error:  # a broken format still must not hide its args
                self.value(f"{place} (unformattable: {error})", str(record.msg))
            self.value(f"{place} (args)", record.args)
            if record.exc_info:
                self.value(f"{place} (traceback)", logging.Formatter().formatException(record.exc_info))
            for name, attribute in vars(record).items():
                if name not in {"msg", "args", "exc_info"}:
                    self.value(f"{place} ({name})", attribute)
        return count

    # --- the database -------------------------------------------------------------------------------

    def database(self, using: str = "default") -> int:
        """Every value of every row of every table (a logical dump); session rows decoded."""
        connection = connections[using]
        rows = 0
        session_store = _session_store_class()
        with connection.cursor() as cursor:
            for table in connection.introspection.table_names():
                cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from introspection
                columns = [column[0] for column in cursor.description]
                for row in cursor.fetchall():
                    rows += 1
                    for column, value in zip(columns, row, strict=True):
                        self.value(f"table {table}.{column}", value)
                        if table == "django_session" and column == "session_data":
                            self.value("table django_session (decoded)", session_store().decode(value))
                        if column == "value" and table in _database_cache_tables():
                            self.value(f"table {table} (cache value)", _unpickle_b64(value))
        return rows

    # --- caches ---------------------------------------------------------------------------------------

    def caches(self) -> int:
        """Every key and value of every configured cache."""
        entries = 0
        for alias in settings.CACHES:
            cache = caches[alias]
            kind = f"{type(cache).__module__}.{type(cache).__qualname__}"
            for key, value in _cache_entries(cache, kind):
                entries += 1
                self.value(f"cache {alias} key", key)
                self.value(f"cache {alias} value of {key}", value)
            if kind not in _READABLE_CACHES:
                self.findings.append(Finding(f"cache {alias}", "*", f"cannot read a {kind}; teach the scan"))
        return entries

    # --- files, e-mail, cookies ----------------------------------------------------------------------

    def directory(self, path: Path) -> int:
        count = 0
        for item in sorted(path.rglob("*")) if path.exists() else []:
            self.value(f"file name {item}", item.name)
            if item.is_file():
                count += 1
                self.value(f"file {item}", item.read_bytes())
        return count

    def emails(self, messages: Iterable[EmailMessage]) -> int:
        """Django e-mail objects (mail.outbox): every field, then the MIME message decoded."""
        count = 0
        for message in messages:
            count += 1
            place = f"e-mail to {message.to}"
            self.value(f"{place} subject", message.subject)
            self.value(f"{place} body", message.body)
            self.value(f"{place} headers", message.extra_headers)
            self.value(f"{place} alternatives", getattr(message, "alternatives", []))
            self.value(f"{place} attachments", message.attachments)
            self.mime(place, message.message().as_bytes())
        return count

    def mime(self, place: str, raw: bytes) -> None:
        """A message as it crossed the wire: raw, each header, and each part decoded."""
        self.value(f"{place} (raw)", raw)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        for name, header in parsed.items():
            self.value(f"{place} header {name}", str(header))
        for part in parsed.walk():
            if not part.is_multipart():
                self.value(f"{place} part {part.get_content_type()}", part.get_payload(decode=True))

    def cookies(self, client: Client, label: str) -> None:
        """The browser's side: every cookie, the messages cookie and a signed-cookie session decoded."""
        for name, morsel in client.cookies.items():
            self.value(f"{label} cookie {name}", morsel.value)
            if name == getattr(settings, "MESSAGE_COOKIE_NAME", "messages"):
                decoded = CookieStorage(HttpRequest())._decode(morsel.value)
                self.value(f"{label} cookie {name} (decoded)", [str(m) for m in decoded or []])
            if name == settings.SESSION_COOKIE_NAME and settings.SESSION_ENGINE.endswith("signed_cookies"):
                self.value(f"{label} cookie {name} (decoded)", _session_store_class()(morsel.value).load())


# --- helpers ---------------------------------------------------------------------------------------------


def _texts(value: Any) -> Iterator[str]:
    """The ways a value could show plaintext: as text, as bytes read as text, nested."""
    if value is None or isinstance(value, bool | int | float):
        return
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
        yield raw.decode("latin-1")
        # UTF-16 text can start at an even or an odd offset.
        yield raw.decode("utf-16-le", errors="ignore")
        yield raw[1:].decode("utf-16-le", errors="ignore")
        return
    if isinstance(value, str):
        yield value
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)
        return
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _texts(item)
        return
    yield repr(value)
    yield str(value)


def _session_store_class() -> type[SessionBase]:
    from importlib import import_module

    store: type[SessionBase] = import_module(settings.SESSION_ENGINE).SessionStore
    return store


def _database_cache_tables() -> set[str]:
    return {
        str(config["LOCATION"])
        for config in settings.CACHES.values()
        if config["BACKEND"].endswith("db.DatabaseCache")
    }


def _unpickle_b64(value: Any) -> Any:
    # Only the test's own cache is read here: trusted bytes it wrote itself.
    return pickle.loads(base64.b64decode(value))  # noqa: S301


_READABLE_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.db.DatabaseCache",  # read with the database, table by table
    "django.core.cache.backends.filebased.FileBasedCache",
    "django.core.cache.backends.redis.RedisCache",
}


def _cache_entries(cache: Any, kind: str) -> Iterator[tuple[str, Any]]:
    if kind.endswith("LocMemCache"):
        for key, pickled in list(cache._cache.items()):
            yield key, pickled
            yield key, pickle.loads(pickled)  # noqa: S301 - the test's own cache
    elif kind.endswith("FileBasedCache"):
        for path in Path(cache._dir).glob("*" + cache.cache_suffix):
            with path.open("rb") as handle:
                pickle.load(handle)  # noqa: S301 - the expiry written first
                yield path.name, pickle.loads(zlib.decompress(handle.read()))  # noqa: S301
    elif kind.endswith("RedisCache"):
        client = cache._cache.get_client()
        for key in client.scan_iter("*"):
            raw = client.get(key)
            yield key.decode(), raw
            try:
                yield key.decode(), pickle.loads(raw)  # noqa: S301
            except (pickle.UnpicklingError, TypeError, ValueError, EOFError):
                continue
