"""The SQL of the audit log's append-only triggers (used by a migration and by `flush`)."""

from __future__ import annotations

from typing import Any

POSTGRES_FORWARD = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_auditevent_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""
POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS audit_auditevent_no_update ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_auditevent_no_delete ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_refuse_change();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit_auditevent is append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit_auditevent is append-only: DELETE refused'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_delete;",
]


def install(vendor: str, cursor: Any) -> None:
    if vendor == "postgresql":
        cursor.execute(POSTGRES_FORWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            cursor.execute(statement)


def remove(vendor: str, cursor: Any) -> None:
    if vendor == "postgresql":
        cursor.execute(POSTGRES_BACKWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            cursor.execute(statement)


def lift(vendor: str, cursor: Any) -> None:
    """For `flush` only. On PostgreSQL, replica mode skips triggers for this session
    (a superuser-only setting); on SQLite the triggers are dropped and made again."""
    if vendor == "postgresql":
        cursor.execute("SET session_replication_role = replica")
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            cursor.execute(statement)


def restore(vendor: str, cursor: Any) -> None:
    if vendor == "postgresql":
        cursor.execute("SET session_replication_role = DEFAULT")
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            cursor.execute(statement)
