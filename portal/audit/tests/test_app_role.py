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


def test_app_role_can_still_use_the_rest_of_the_portal(app_connection: psycopg.Connection) -> None:
    with app_connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO clinics_hospital (name, code) VALUES ('Grant Test Hospital', 'G1') RETURNING id"
        )
        row = cursor.fetchone()
        assert row is not None
        cursor.execute("UPDATE clinics_hospital SET code = 'G2' WHERE id = %s", [row[0]])
        cursor.execute("DELETE FROM clinics_hospital WHERE id = %s", [row[0]])


def test_role_names_are_checked_before_they_reach_sql() -> None:
    with pytest.raises(ValueError):
        app_role_grants("portal; DROP TABLE audit_auditevent")
