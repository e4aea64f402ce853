"""The rotation command killed for real (SIGKILL) halfway, then run again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

SEED = """
from datetime import date
from portal.clinics.models import Patient
from portal.vault.crypto import Binding, keyring
for n in range(6):
    p = Patient.objects.create(dod_id=f"97{n:08d}", first_name="P", last_name=str(n), birth_date=date(1980, 1, 1))
    open(f"{VAR}/sealed-{p.pk}", "wb").write(keyring(p.pk).seal(Binding("t", str(p.pk), "f"), f"text {p.pk}".encode()))
"""

CHECK = """
import glob
from portal.vault.crypto import Binding, keyring
for path in sorted(glob.glob(f"{VAR}/sealed-*")):
    pk = int(path.rsplit("-", 1)[1])
    assert keyring(pk).open(Binding("t", str(pk), "f"), open(path, "rb").read()) == f"text {pk}".encode()
print("all open")
"""


def manage(var: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment(var),
        capture_output=True,
        text=True,
        check=True,
    )


def environment(var: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(PORTAL_ENV="test", PORTAL_VAR_DIR=str(var), PORTAL_KEY_FILE=str(var / "keys" / "kek.json"))
    return env


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="runs on its own SQLite file"
)
def test_rotation_killed_with_sigkill_is_finished_by_the_next_run(tmp_path: Path) -> None:
    """SIGKILL after some data keys are re-wrapped: everything still opens; the next run
    resumes the same rotation, finishes it and retires the old key; everything opens."""
    var = tmp_path / "var"
    var.mkdir()
    manage(var, "migrate", "--noinput", "-v", "0")
    manage(var, "shell", "-c", f"VAR = {str(var)!r}\n" + SEED)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "vault_rotate", "--batch-size", "1", "--pause", "0.5"],
        cwd=ROOT,
        env=environment(var),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    database = var / "portal.sqlite3"
    deadline = time.monotonic() + 60
    rewrapped = 0
    while time.monotonic() < deadline and rewrapped < 2:
        time.sleep(0.1)
        with sqlite3.connect(database) as connection:
            row = connection.execute("SELECT rewrapped FROM vault_keyrotation").fetchone()
        rewrapped = row[0] if row else 0
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 2 <= rewrapped < 6, rewrapped
    with sqlite3.connect(database) as connection:
        kek_ids = {r[0] for r in connection.execute("SELECT kek_id FROM vault_datakey")}
        unfinished = connection.execute(
            "SELECT count(*) FROM vault_keyrotation WHERE finished_at IS NULL"
        ).fetchone()[0]
    assert len(kek_ids) == 2 and unfinished == 1  # half old, half new, rotation open
    assert "all open" in manage(var, "shell", "-c", f"VAR = {str(var)!r}\n" + CHECK).stdout

    finished = manage(var, "vault_rotate").stdout
    assert "Resumed rotation" in finished and "1 old key(s) retired" in finished
    with sqlite3.connect(database) as connection:
        assert len({r[0] for r in connection.execute("SELECT kek_id FROM vault_datakey")}) == 1
    assert "all open" in manage(var, "shell", "-c", f"VAR = {str(var)!r}\n" + CHECK).stdout
