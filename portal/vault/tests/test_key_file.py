"""A lost key file stops the portal; it is never silently replaced by a new one.

Paula's messages were sealed under her data key, wrapped by the key-encryption
key in the key file. If that file is gone, a new key file would unwrap none of
the data keys in the database: every sealed text would be lost for good. So a
new key file is made only on a fresh installation (no data key yet).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.checks import Error, run_checks

from portal.accounts.models import User
from portal.vault.crypto import Binding, keyring, unwrapped_keys
from portal.vault.models import DataKey
from portal.vault.providers import KeyFileMissing

pytestmark = pytest.mark.django_db

HERE = Binding(table="messaging_message", row="row-a", field="body")
ROOT = Path(__file__).resolve().parents[3]


def patient_id(user: User) -> int:
    assert user.patient_record is not None
    return user.patient_record.pk


def vault_errors() -> list[Error]:
    return [message for message in run_checks() if message.id == "vault.E001"]


def test_a_fresh_installation_passes_the_check_and_makes_its_key_file(paula: User) -> None:
    """No data key yet: nothing to lose, so the key file is made at first use."""
    path = Path(settings.PORTAL_KEY_FILE)
    assert not path.exists() and not DataKey.objects.exists()
    assert vault_errors() == []
    keyring(patient_id(paula)).seal(HERE, b"x")
    assert path.exists() and vault_errors() == []


def test_a_missing_key_file_with_data_keys_stops_sealing_and_opening(paula: User, eve: User) -> None:
    """The key file is removed after Paula's text was sealed: the check reports it, naming the
    file and what to do; sealing and opening raise the same clear error; and nothing is written
    where the key file was (a new one would unwrap none of the data keys)."""
    path = Path(settings.PORTAL_KEY_FILE)
    sealed = keyring(patient_id(paula)).seal(HERE, b"My blood sugar was 212")
    path.unlink()
    unwrapped_keys.clear()  # as in a process started after the loss

    (error,) = vault_errors()
    assert str(path) in error.msg
    assert "Restore the key file from your backup" in error.msg and "PORTAL_KEY_PROVIDER" in error.msg

    with pytest.raises(KeyFileMissing, match="PORTAL_KEY_PROVIDER") as opening:
        keyring(patient_id(paula)).open(HERE, sealed)
    assert str(path) in str(opening.value)
    with pytest.raises(KeyFileMissing):
        keyring(patient_id(paula)).seal(HERE, b"more")
    with pytest.raises(KeyFileMissing):
        keyring(patient_id(eve)).seal(HERE, b"Eve's first text")  # her first data key: not made
    assert not path.exists()
    assert list(path.parent.iterdir()) == []  # no new key file, no half-written temporary
    assert DataKey.objects.count() == 1


def test_the_key_file_restored_from_backup_opens_everything_again(paula: User) -> None:
    path = Path(settings.PORTAL_KEY_FILE)
    sealed = keyring(patient_id(paula)).seal(HERE, b"kept")
    backup = path.read_bytes()
    path.unlink()
    unwrapped_keys.clear()
    with pytest.raises(KeyFileMissing):
        keyring(patient_id(paula)).open(HERE, sealed)
    path.write_bytes(backup)
    os.chmod(path, 0o600)
    assert vault_errors() == []
    assert keyring(patient_id(paula)).open(HERE, sealed) == b"kept"


SEAL = """
from datetime import date
from portal.clinics.models import Patient
from portal.vault.crypto import Binding, keyring
p = Patient.objects.create(dod_id="9700000001", first_name="P", last_name="Q", birth_date=date(1980, 1, 1))
keyring(p.pk).seal(Binding("t", "1", "f"), b"text")
"""


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="runs on its own SQLite file"
)
def test_the_portal_does_not_start_without_its_key_file(tmp_path: Path) -> None:
    """`manage.py check` and `portal_run` (which runs the checks first) stop with the message."""
    var = tmp_path / "var"
    var.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL"))}
    environ |= {"PORTAL_ENV": "test", "PORTAL_VAR_DIR": str(var)}

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert manage("migrate", "--noinput", "-v", "0").returncode == 0
    assert manage("shell", "-c", SEAL).returncode == 0
    key_file = var / "keys" / "kek.json"
    assert manage("check").returncode == 0
    key_file.unlink()

    for command in (["check"], ["portal_run", "--address", "127.0.0.1:1"]):
        result = manage(*command)
        assert result.returncode != 0, command
        assert "vault.E001" in result.stderr and f"The key file {key_file} is missing" in result.stderr
    assert not key_file.exists()
