"""The floors' raw SQL: the rows each measured request, job or export reads, read with the
driver directly (sqlite3 or psycopg; no ORM, no schema, no templates).

Every statement is written with ``:name`` parameters and runs unchanged on both engines.
A floor must read the same rows as the product does, so when a page shows more, its floor
here grows too (see docs/PERFORMANCE.md).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

_PARAM = re.compile(r"(?<![:\w]):(\w+)")


class Raw:
    """A plain driver connection: sqlite3 on a file, or psycopg on PostgreSQL."""

    def __init__(self, engine: str, target: str):
        self.engine = engine
        if engine == "sqlite":
            self.connection = sqlite3.connect(target, isolation_level=None)
            self.connection.execute("PRAGMA foreign_keys=ON")
        else:
            import psycopg

            self.connection = psycopg.connect(target, autocommit=True)

    def _sql(self, sql: str) -> str:
        return sql if self.engine == "sqlite" else _PARAM.sub(r"%(\1)s", sql)

    def rows(self, sql: str, **params) -> list[tuple]:
        cursor = self.connection.execute(self._sql(sql), params)
        rows = cursor.fetchall()
        cursor.close()
        return rows

    def value(self, sql: str, **params):
        rows = self.rows(sql, **params)
        return rows[0][0] if rows else None

    def execute(self, sql: str, **params) -> None:
        self.connection.execute(self._sql(sql), params).close()

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class FloorQueries:
    """A named set of statements that together read what one request reads."""

    name: str
    run: Callable[[Raw, dict], int]  # returns how many rows it read


def _read(raw: Raw, statements: list[tuple[str, dict]]) -> int:
    return sum(len(raw.rows(sql, **params)) for sql, params in statements)


SIGNED_IN_USER = "SELECT id, email, name, role, active FROM users WHERE id = :user_id"
TOKEN_USER = (
    "SELECT t.id, t.user_id, t.revoked_at, u.id, u.email, u.name, u.role, u.active "
    "FROM api_tokens t JOIN users u ON u.id = t.user_id "
    "WHERE t.token_hash = :token_hash AND t.revoked_at IS NULL"
)
PROJECT = (
    "SELECT p.*, pr.name, u.name FROM projects p "
    "JOIN programs pr ON pr.id = p.program_id JOIN users u ON u.id = p.manager_id "
    "WHERE p.id = :project_id"
)
TEAM = (
    "SELECT u.id, u.name FROM project_team_members t JOIN users u ON u.id = t.user_id "
    "WHERE t.project_id = :project_id ORDER BY u.name"
)


def project_page(raw: Raw, p: dict) -> int:
    """``/projects/<id>``: the signed-in user, the project with its program and manager,
    its team."""
    return _read(raw, [(SIGNED_IN_USER, p), (PROJECT, p), (TEAM, p)])


def project_api(raw: Raw, p: dict) -> int:
    """``GET /api/v1/projects/<id>``: the token's user, the project, its team's ids."""
    return _read(raw, [(TOKEN_USER, p), (PROJECT, p), (TEAM, p)])


FLOORS = {
    "project_page": project_page,
    "project_api": project_api,
}
