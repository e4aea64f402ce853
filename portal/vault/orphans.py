"""Encrypted files that no row names, and the sweep that deletes them.

`transaction_with_files()` deletes the files of a transaction that rolls back,
but a process killed between writing a file and committing the row that names
it (SIGKILL, out of memory, power lost) runs no cleanup: the file stays in the
vault storage with no row to find it. The periodic job `vault.orphan_files`
(`portal/vault/jobs.py`) deletes such files once they are older than
PORTAL_VAULT_ORPHAN_MINUTES: far longer than any transaction that writes one,
so a file whose row is about to commit is never taken.

The vault sits below the domains and never imports them: each domain that
stores files registers, in its AppConfig.ready(), a function that says which
of some storage names its rows still name. A domain that stores files without
registering would see them swept, so the sweep does nothing at all while no
domain has registered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.files.storage import Storage, storages

from portal.audit import log as audit

logger = logging.getLogger(__name__)

# Which of these storage names a domain's rows name (the others are not that domain's).
FilesInUse = Callable[[list[str]], set[str]]

_files_in_use: list[FilesInUse] = []

# The names `store_file` makes ("1a2b/<32 hex>.bin", a suffix if the storage had to make it unique);
# anything else an operator keeps in the storage is not the sweep's to delete.
STORED_NAME = re.compile(r"[0-9a-f]{4}/[0-9a-f]{32}(_[A-Za-z0-9]{7})?\.bin")


def register_files_in_use(check: FilesInUse) -> FilesInUse:
    """Add `check(names)`: the subset of `names` that rows of one domain still name."""
    if check not in _files_in_use:
        _files_in_use.append(check)
    return check


@dataclass(frozen=True)
class Sweep:
    removed: list[str] = field(default_factory=list)
    too_young: int = 0  # orphans or not, too recent to judge: a transaction may still commit them
    skipped: bool = False  # no domain registered its files: nothing could be told apart

    def __str__(self) -> str:
        if self.skipped:
            return "skipped: no domain registered the files it uses"
        return f"{len(self.removed)} orphan file(s) removed, {self.too_young} too recent to judge"


def sweep_orphan_files(*, now: datetime, older_than: timedelta, batch_size: int = 500) -> Sweep:
    """Delete the stored files older than `older_than` at `now` that no registered domain names."""
    if not _files_in_use:
        logger.warning("vault: no domain registered the files it uses; the orphan sweep did nothing")
        return Sweep(skipped=True)
    storage = storages["vault"]
    cut_off = now - older_than
    old: list[str] = []
    too_young = 0
    for name in stored_names(storage):
        if storage.get_modified_time(name) < cut_off:
            old.append(name)
        else:
            too_young += 1
    removed: list[str] = []
    for start in range(0, len(old), batch_size):
        batch = old[start : start + batch_size]
        in_use = set().union(*(check(batch) for check in _files_in_use))
        for name in batch:
            if name not in in_use:
                storage.delete(name)
                removed.append(name)
    if removed:
        # A name is random and says nothing about the file or whose it was.
        logger.info("vault: removed %s orphan file(s): %s", len(removed), ", ".join(removed))
        audit.record(
            "vault.orphan_files_removed",
            object_type="vault_storage",
            details={"files": len(removed), "older_than_minutes": int(older_than.total_seconds() // 60)},
        )
    return Sweep(removed, too_young)


def stored_names(storage: Storage) -> Iterator[str]:
    """Every name in the vault storage shaped as `store_file` makes them."""
    try:
        folders, _ = storage.listdir("")
    except FileNotFoundError:
        return  # nothing stored yet
    for folder in sorted(folders):
        _, files = storage.listdir(folder)
        for file in sorted(files):
            name = f"{folder}/{file}"
            if STORED_NAME.fullmatch(name):
                yield name
