"""On PostgreSQL the app's own database role cannot change or remove audit rows,
nor drop the triggers that guard them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from portal.audit import log as audit
from portal.audit.grants import app_role_grants

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app_connection() -> Iterator[psycopg.Connection]:
    if connection.vendor != "postgresql":
        pytest.skip("roles and grants are PostgreSQL's; SQLite has one user (its triggers are tested)")
    role = f"portal_app_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} LOGIN")
        for statement in app_role_grants(role):
            cursor.execute(statement)
    settings = connection.settings_dict
    conn = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        dbname=settings["NAME"],
        user=role,
        autocommit=True,
    )
    try:
        yield conn
    finally:
        conn.close()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


def test_app_role_may_append_and_read_but_not_change_or_remove(app_connection: psycopg.Connection) -> None:
    event = audit.record("sign_in", actor_id=1)
    with app_connection.cursor() as cursor:
        cursor.execute("SELECT action FROM audit_auditevent WHERE id = %s", [event.pk])
        assert cursor.fetchone() == ("sign_in",)
    for statement in (
        "UPDATE audit_auditevent SET action = 'nothing' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app_connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])
    with pytest.raises(psycopg.errors.InsufficientPrivilege), app_connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent")
    with pytest.raises(psycopg.errors.InsufficientPrivilege), app_connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER audit_auditevent_no_update ON audit_auditevent")


def test_app_role_may_seal_but_not_change_or_remove_a_seal(app_connection: psycopg.Connection) -> None:
    """The app seals events (it inserts seals, moves the head and clears the work list) but
    cannot rewrite or remove a seal, empty the table or drop its triggers."""
    event = audit.record("sign_in", actor_id=1)  # outside a transaction: sealed at once
    stray = audit.record("sign_out", actor_id=1)
    with app_connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, previous_hash, row_hash FROM audit_auditseal WHERE event_id = %s", [event.pk]
        )
        row = cursor.fetchone()
        assert row is not None
        cursor.execute(
            "INSERT INTO audit_auditseal (seq, event_id, previous_hash, row_hash) VALUES (%s, %s, %s, %s)",
            [-1, -1, row[2], row[2]],
        )
        cursor.execute("INSERT INTO audit_auditunsealed (event_id) VALUES (%s)", [stray.pk])
        cursor.execute("DELETE FROM audit_auditunsealed WHERE event_id = %s", [stray.pk])
        cursor.execute("SELECT id FROM audit_auditchainhead WHERE id = 1 FOR UPDATE SKIP LOCKED")
        cursor.execute("UPDATE audit_auditchainhead SET last_seq = last_seq WHERE id = 1")
    for statement in (
        "UPDATE audit_auditseal SET row_hash = previous_hash WHERE event_id = %s",
        "DELETE FROM audit_auditseal WHERE event_id = %s",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app_connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])
    for statement in (
        "TRUNCATE audit_auditseal",
        "DROP TRIGGER audit_auditseal_no_delete ON audit_auditseal",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), app_connection.cursor() as cursor:
            cursor.execute(statement)


def test_app_role_can_still_use_the_rest_of_the_portal(app_connection: psycopg.Connection) -> None:
    with app_connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO clinics_hospital (name, code, time_zone) VALUES ('Grant Test Hospital', 'G1', 'UTC') RETURNING id"
        )
        row = cursor.fetchone()
        assert row is not None
        cursor.execute("UPDATE clinics_hospital SET code = 'G2' WHERE id = %s", [row[0]])
        cursor.execute("DELETE FROM clinics_hospital WHERE id = %s", [row[0]])


def test_role_names_are_checked_before_they_reach_sql() -> None:
    with pytest.raises(ValueError):
        app_role_grants("portal; DROP TABLE audit_auditevent")
