"""The encrypted file store on a local disk: a file appears whole, or not at all.

Django's FileSystemStorage writes in place: a full disk or a killed process leaves a
0-byte or cut-off file under the name a row would have kept. Here the bytes go to a
temporary name in the same directory (same file system, so the rename is atomic), are
flushed to disk, and only then take their name; a write that fails deletes the temporary
file. What is written is already sealed (portal.vault.files), never the patient's plaintext.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from typing import Any

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage

PARTIAL_PREFIX = ".partial-"


class AtomicFileSystemStorage(FileSystemStorage):
    def _save(self, name: str, content: File[Any]) -> str:
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        if self.directory_permissions_mode is not None:
            old_umask = os.umask(0o777 & ~self.directory_permissions_mode)
            try:
                os.makedirs(directory, self.directory_permissions_mode, exist_ok=True)
            finally:
                os.umask(old_umask)
        else:
            os.makedirs(directory, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=directory, prefix=PARTIAL_PREFIX)
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in content.chunks():
                    out.write(chunk if isinstance(chunk, bytes) else chunk.encode())
                out.flush()
                os.fsync(out.fileno())
            if self.file_permissions_mode is not None:
                os.chmod(partial, self.file_permissions_mode)
            # Names are 128 random bits (portal.vault.files): a link never meets an existing file,
            # and if it did it would fail rather than replace it.
            os.link(partial, full_path)
        except BaseException:
            with suppress(OSError):
                os.unlink(partial)
            raise
        os.unlink(partial)
        return str(name).replace("\\", "/")
