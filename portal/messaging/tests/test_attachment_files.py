"""No encrypted file is left in the vault storage without the row that names it.

Paula attaches files to a draft for Team Blue. To make a save fail for real,
the database itself is told to refuse Attachment rows (a trigger): the error
is the IntegrityError of a real INSERT, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, connection

from portal.accounts.models import User
from portal.core.acting import Actor
from portal.messaging import actions
from portal.messaging.attachments import Upload
from portal.messaging.models import Attachment, Draft
from portal.messaging.selectors import draft_view
from portal.messaging.tests.helpers import PDF, PNG_1x1

TRIGGER = "portal_test_refuse_attachment"


@pytest.fixture
def refuse_attachment_rows() -> Iterator[Callable[[int], None]]:
    """`refuse(allowed)`: the database accepts `allowed` more Attachment rows, then refuses each one."""

    def refuse(allowed: int) -> None:
        limit = Attachment.objects.count() + allowed
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "  # noqa: S608 - no input
                    f"IF (SELECT COUNT(*) FROM messaging_attachment) >= {limit} THEN "
                    "RAISE EXCEPTION 'refused by the test' USING ERRCODE = 'check_violation'; END IF; "
                    "RETURN NEW; END $$"
                )
                cursor.execute(
                    f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON messaging_attachment "
                    f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()"
                )
            else:
                cursor.execute(
                    f"CREATE TRIGGER {TRIGGER} BEFORE INSERT ON messaging_attachment "  # noqa: S608 - no input
                    f"WHEN (SELECT COUNT(*) FROM messaging_attachment) >= {limit} "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )

    yield refuse
    with connection.cursor() as cursor:  # a transactional test commits DDL: take it away again
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON messaging_attachment")
            cursor.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")


def stored_files(vault: Path) -> set[Path]:
    return {path for path in (vault / "vault-files").rglob("*") if path.is_file()}


def paulas_draft(world: dict[str, Any], paula: User) -> Draft:
    return actions.check_save_draft(
        by=Actor(paula),
        send_token=uuid.uuid4(),
        care_team_id=world["blue"].pk,
        thread_id=None,
        category="general",
        subject="Lab results",
        body="Words Paula typed",
    )


@pytest.mark.django_db
def test_a_row_the_database_refuses_leaves_no_file(
    world: dict[str, Any], paula: User, isolated_vault: Path, refuse_attachment_rows: Callable[[int], None]
) -> None:
    """The file is sealed and written, then its row is refused: the file is deleted; the draft text stays."""
    draft = paulas_draft(world, paula)
    refuse_attachment_rows(0)
    with pytest.raises(IntegrityError):
        actions.check_attach_files(by=Actor(paula), draft_id=draft.pk, uploads=[Upload("lab.pdf", PDF)])
    assert stored_files(isolated_vault) == set()
    assert not Attachment.objects.exists()
    assert draft_view(paula, Draft.objects.get(pk=draft.pk)).body == "Words Paula typed"


@pytest.mark.django_db
def test_a_later_refusal_in_the_same_transaction_removes_the_files_before_it(
    world: dict[str, Any], paula: User, isolated_vault: Path, refuse_attachment_rows: Callable[[int], None]
) -> None:
    """Two files in one go: the first row is saved, the second refused, the transaction rolls back.
    Neither new file stays; the file attached earlier (committed) is untouched."""
    draft = paulas_draft(world, paula)
    actions.check_attach_files(
        by=Actor(paula), draft_id=draft.pk, uploads=[Upload("earlier.txt", b"earlier")]
    )
    before = stored_files(isolated_vault)
    assert len(before) == 1
    refuse_attachment_rows(1)
    with pytest.raises(IntegrityError):
        actions.check_attach_files(
            by=Actor(paula), draft_id=draft.pk, uploads=[Upload("a.pdf", PDF), Upload("b.png", PNG_1x1)]
        )
    assert stored_files(isolated_vault) == before
    assert Attachment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_real_rollback_removes_the_files_written_in_it(
    world: dict[str, Any], paula: User, isolated_vault: Path, refuse_attachment_rows: Callable[[int], None]
) -> None:
    """The same, with no test transaction around it: a real BEGIN ... ROLLBACK on the database."""
    draft = paulas_draft(world, paula)
    refuse_attachment_rows(1)
    with pytest.raises(IntegrityError):
        actions.check_attach_files(
            by=Actor(paula), draft_id=draft.pk, uploads=[Upload("a.pdf", PDF), Upload("b.png", PNG_1x1)]
        )
    assert stored_files(isolated_vault) == set()
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_an_error_after_the_rows_are_saved_removes_their_files(
    world: dict[str, Any], paula: User, isolated_vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both rows are saved, then the audit write of the second fails inside the transaction:
    the rows roll back and so do both files."""
    from portal.audit import log

    draft = paulas_draft(world, paula)
    real_record = log.record
    seen: list[str] = []

    def failing_record(action: str, **kwargs: Any) -> Any:
        if action == "messaging.attachment.added":
            seen.append(action)
            if len(seen) == 2:
                raise RuntimeError("the audit log is unavailable")
        return real_record(action, **kwargs)

    monkeypatch.setattr(log, "record", failing_record)
    with pytest.raises(RuntimeError, match="audit log"):
        actions.check_attach_files(
            by=Actor(paula), draft_id=draft.pk, uploads=[Upload("a.pdf", PDF), Upload("b.png", PNG_1x1)]
        )
    assert len(seen) == 2
    assert stored_files(isolated_vault) == set()
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_a_caller_that_carries_on_after_a_refused_row_keeps_no_file(
    world: dict[str, Any], paula: User, isolated_vault: Path, refuse_attachment_rows: Callable[[int], None]
) -> None:
    """Even when the refused row's error is caught and the transaction then commits, its file is gone."""
    from portal.messaging.actions import drafts
    from portal.vault.crypto import keyring
    from portal.vault.files import transaction_with_files

    draft = paulas_draft(world, paula)
    refuse_attachment_rows(0)
    with transaction_with_files(), pytest.raises(IntegrityError):
        drafts._seal_attachment(
            keyring(draft.patient_id),
            by=Actor(paula),
            patient_id=draft.patient_id,
            upload=Upload("lab.pdf", PDF),
            draft=draft,
        )
    assert stored_files(isolated_vault) == set()
