"""A process killed between writing an attachment's file and committing its row leaves the file
behind; the vault's orphan sweep removes exactly such files, once they are old enough.

Paula attaches a file to her draft (committed). Then she attaches two more, and her request's
process is killed (SIGKILL) after both files and rows are written but before the commit: the
rows are gone with the transaction, the two files are not.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.django_db(transaction=True)

WRITER = """
import json, sys, uuid
import django
django.setup()
from conftest import make_patient
from datetime import date
from portal.clinics.models import CareTeam, Clinic, Hospital
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.actions import drafts
from portal.messaging.attachments import Upload
from portal.messaging.models import Attachment

hospital = Hospital.objects.create(name="Fort Test Medical Center", code="T001")
team = CareTeam.objects.create(clinic=Clinic.objects.create(hospital=hospital, name="Family"), name="Blue")
paula = make_patient(
    username="paula", first="Paula", last="Quill", dod_id="9900000001", born=date(1986, 4, 28), team=team
).user
by = Actor(paula)
draft = actions.check_save_draft(
    by=by, send_token=uuid.uuid4(), care_team_id=team.pk, thread_id=None,
    category="general", subject="Results", body="See attached",
)
assert actions.check_attach_files(by=by, draft_id=draft.pk, uploads=[Upload("kept.txt", b"kept")]) == []
print(json.dumps({"committed": [a.storage_name for a in Attachment.objects.all()]}), flush=True)

real_audit = drafts._audit
added = []


def audit_then_wait(action, **kwargs):
    real_audit(action, **kwargs)
    if action == "attachment.added":
        added.append(kwargs["object_id"])
        if len(added) == 2:  # both files and rows written; the transaction is still open
            names = list(Attachment.objects.filter(pk__in=added).values_list("storage_name", flat=True))
            print(json.dumps({"uncommitted": names}), flush=True)
            sys.stdin.readline()  # the test kills this process here


drafts._audit = audit_then_wait
actions.check_attach_files(
    by=by, draft_id=draft.pk, uploads=[Upload("a.txt", b"first"), Upload("b.txt", b"second")]
)
raise SystemExit("not killed")
"""

SWEEP = """
import json, sys
from datetime import datetime, timedelta
import django
django.setup()
from portal.messaging.models import Attachment
from portal.vault.orphans import sweep_orphan_files

for now in sys.argv[1:]:
    sweep = sweep_orphan_files(now=datetime.fromisoformat(now), older_than=timedelta(minutes=60))
    print(json.dumps({"removed": sweep.removed, "too_young": sweep.too_young}))
print(json.dumps({"rows": list(Attachment.objects.values_list("storage_name", flat=True))}))
"""


@pytest.fixture
def shared_database(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a process that sees the test's database: PostgreSQL's test database,
    or a migrated SQLite file (the in-memory test database is this process's alone)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL"))}
    (tmp_path / "var").mkdir()
    environ |= {"PORTAL_ENV": "test", "PORTAL_VAR_DIR": str(tmp_path / "var")}
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
        environ["DATABASE_URL"] = (
            f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    else:
        migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
        subprocess.run(migrate, cwd=ROOT, env=environ, check=True, timeout=120)
    yield environ


def json_lines(process: subprocess.Popen[bytes], count: int, *, seconds: float) -> list[dict[str, list[str]]]:
    """The first `count` JSON lines the process prints, waiting at most `seconds` in all."""
    assert process.stdout is not None
    deadline = datetime.now(tz=UTC).timestamp() + seconds
    buffer = b""
    while buffer.count(b"\n") < count:
        remaining = deadline - datetime.now(tz=UTC).timestamp()
        ready, _, _ = select.select([process.stdout], [], [], max(remaining, 0))
        chunk = os.read(process.stdout.fileno(), 65536) if ready else b""
        if not chunk:
            process.kill()
            assert process.stderr is not None
            pytest.fail(f"the writer stopped or hung: {process.stderr.read().decode()[-3000:]}")
        buffer += chunk
    return [json.loads(line) for line in buffer.splitlines()[:count]]


def test_files_of_a_killed_transaction_are_swept_once_old_enough_and_nothing_else(
    shared_database: dict[str, str], tmp_path: Path
) -> None:
    """After the SIGKILL the two uncommitted files are on disk with no row. A sweep 59 minutes
    after they were written keeps them (a transaction might still be committing them); one at
    61 minutes removes exactly those two; the committed attachment's file stays throughout."""
    files = tmp_path / "var" / "vault-files"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER],
        cwd=ROOT,
        env=shared_database,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        first, second = json_lines(writer, 2, seconds=120)
        committed, orphans = first["committed"], second["uncommitted"]
        assert len(committed) == 1 and len(orphans) == 2
        assert all((files / name).is_file() for name in committed + orphans)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert all((files / name).is_file() for name in orphans)  # no cleanup ran: left behind

    written = max((files / name).stat().st_mtime for name in orphans)
    not_yet, old_enough = (
        datetime.fromtimestamp(written + minutes * 60, tz=UTC).isoformat() for minutes in (59, 61)
    )
    result = subprocess.run(
        [sys.executable, "-c", SWEEP, not_yet, old_enough],
        cwd=ROOT,
        env=shared_database,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    early, late, rows = (json.loads(line) for line in result.stdout.splitlines()[-3:])
    assert early == {"removed": [], "too_young": 3}  # all three under an hour old
    assert sorted(late["removed"]) == sorted(orphans) and late["too_young"] == 0  # kept: in use
    assert rows == {"rows": committed}  # the killed transaction's rows never were
    stored = sorted(p.relative_to(files).as_posix() for p in files.rglob("*") if p.is_file())
    assert stored == committed
