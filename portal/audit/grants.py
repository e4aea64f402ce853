"""PostgreSQL privileges for the app's own role.

The triggers refuse changes to the audit log for every role, but the table's
owner could drop them. In production the schema belongs to an owner role that
runs migrations, and the app servers connect as a role that holds no more than
SELECT and INSERT on the audit log: it can neither change a row nor a trigger.
"""

from __future__ import annotations

import re

AUDIT_TABLES_APPEND_ONLY = ("audit_auditevent", "audit_auditseal")


def app_role_grants(role: str) -> list[str]:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError("a role name is lower-case letters, digits and _")
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]
    for table in AUDIT_TABLES_APPEND_ONLY:
        statements += [
            f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}",
            f"GRANT SELECT, INSERT ON {table} TO {role}",
        ]
    return statements
