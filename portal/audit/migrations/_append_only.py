"""The SQL of the audit log's append-only triggers (used by migrations and by `flush`).

Both the events and their seals are append-only: once written, a row is
neither changed nor removed, by any database user.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

APPEND_ONLY_TABLES = ("audit_auditevent", "audit_auditseal")

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def _postgres_forward(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""


def _postgres_backward(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_no_update ON {table};
DROP TRIGGER IF EXISTS {table}_no_delete ON {table};
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
"""


def _sqlite_forward(table: str) -> list[str]:
    return [
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
       BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END;""",
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
       BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END;""",
    ]


def _sqlite_backward(table: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {table}_no_update;", f"DROP TRIGGER IF EXISTS {table}_no_delete;"]


def install(vendor: str, cursor: Any, tables: Iterable[str] = APPEND_ONLY_TABLES) -> None:
    if vendor == "postgresql":
        cursor.execute(POSTGRES_FUNCTION + "".join(_postgres_forward(table) for table in tables))
    elif vendor == "sqlite":
        for table in tables:
            for statement in _sqlite_forward(table):
                cursor.execute(statement)


def remove(vendor: str, cursor: Any, tables: Iterable[str] = APPEND_ONLY_TABLES) -> None:
    if vendor == "postgresql":
        cursor.execute("".join(_postgres_backward(table) for table in tables))
    elif vendor == "sqlite":
        for table in tables:
            for statement in _sqlite_backward(table):
                cursor.execute(statement)


def drop_function(vendor: str, cursor: Any) -> None:
    if vendor == "postgresql":
        cursor.execute("DROP FUNCTION IF EXISTS audit_refuse_change();")


def lift(vendor: str, cursor: Any) -> None:
    """For `flush` only. On PostgreSQL, replica mode skips triggers for this session
    (a superuser-only setting); on SQLite the triggers are dropped and made again."""
    if vendor == "postgresql":
        cursor.execute("SET session_replication_role = replica")
    elif vendor == "sqlite":
        remove(vendor, cursor)


def restore(vendor: str, cursor: Any) -> None:
    if vendor == "postgresql":
        cursor.execute("SET session_replication_role = DEFAULT")
    elif vendor == "sqlite":
        install(vendor, cursor)
