"""The app's PostgreSQL role: everything it needs, and an append-only audit trail."""

from __future__ import annotations

import re

import sqlalchemy as sa


class RoleError(Exception):
    """A role that cannot be set up; the message says why."""


ROLE_NAME = r"^[a-z_][a-z0-9_]{0,62}$"


def grant_app_role(engine: sa.Engine, role: str) -> list[str]:
    """PostgreSQL: let ``role`` (an existing role the app connects as) use every table,
    but never update, delete or truncate audit events. Returns the statements run."""
    if engine.dialect.name != "postgresql":
        raise RoleError("database roles exist only on PostgreSQL; SQLite has no roles")
    if not re.match(ROLE_NAME, role):
        raise RoleError(f"'{role}' is not a plain role name (lower-case letters, digits, _)")
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON events FROM {role}",
    ]
    with engine.begin() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
        if exists.scalar() is None:
            raise RoleError(f"there is no role '{role}'; create it first (CREATE ROLE ... LOGIN)")
        for statement in statements:
            conn.exec_driver_sql(statement)
    return statements
