"""Backup and restore of the whole database.

SQLite: the online backup API (a consistent copy while the app keeps running).
PostgreSQL: ``pg_dump -Fc`` and ``pg_restore --clean --if-exists --single-transaction`` (the
client tools must be on the PATH); the password travels in ``PGPASSWORD``, never on the
command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    """Where the database is: a SQLite file or a PostgreSQL connection."""

    dialect: str
    sqlite_path: Path | None = None
    pg_url: str | None = None  # libpq URL without the password
    pg_password: str | None = None

    @property
    def label(self) -> str:
        return str(self.sqlite_path) if self.sqlite_path else (self.pg_url or "")


def target_of(url: str | sa.URL) -> Target:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        return Target("sqlite", sqlite_path=Path(parsed.database))
    if parsed.get_backend_name() == "postgresql":
        libpq = parsed.set(drivername="postgresql", password=None)
        return Target(
            "postgresql",
            pg_url=libpq.render_as_string(hide_password=False),
            pg_password=parsed.password,
        )
    raise BackupError(f"backups of {parsed.get_backend_name()} databases are not supported")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"'{name}' is not installed; install the PostgreSQL client tools")
    return path


def _pg_env(target: Target) -> dict:
    env = dict(os.environ)
    if target.pg_password:
        env["PGPASSWORD"] = target.pg_password
    return env


def _run(args: list[str], target: Target) -> None:
    # A fixed argument list from shutil.which, no shell: nothing a user typed is interpreted.
    result = subprocess.run(  # noqa: S603
        args, env=_pg_env(target), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {result.stderr.strip()[:2000]}")


def _writable_destination(out: Path) -> None:
    if out.exists() and out.is_dir():
        raise BackupError(f"{out} is a folder; give a file name for the backup")
    if not out.parent.exists():
        raise BackupError(f"the folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise BackupError(f"cannot write into {out.parent}")


def backup(engine: sa.Engine, out: Path) -> Path:
    """Write a consistent copy of the database behind ``engine`` to ``out``."""
    out = Path(out)
    _writable_destination(out)
    target = target_of(engine.url)
    partial = out.with_name(out.name + ".partial")
    try:
        if target.sqlite_path is not None:
            source = sqlite3.connect(target.sqlite_path)
            dest = sqlite3.connect(partial)
            try:
                with dest:
                    source.backup(dest)
            finally:
                dest.close()
                source.close()
        else:
            _run(
                [
                    _tool("pg_dump"),
                    "-Fc",
                    "--no-owner",
                    "--no-privileges",
                    "-f",
                    str(partial),
                    f"--dbname={target.pg_url}",
                ],
                target,
            )
        partial.replace(out)  # a backup file is either whole or absent
    finally:
        partial.unlink(missing_ok=True)
    return out


def kind_of_file(path: Path) -> str:
    """'sqlite' or 'postgresql' from the file's first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a crmphase backup (neither SQLite nor pg_dump -Fc)")


def _check_sqlite_backup(path: Path) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
        has_version = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='alembic_version'"
        ).fetchone()[0]
    finally:
        conn.close()
    if ok != "ok":
        raise BackupError(f"{path} is damaged: {ok}")
    if not has_version:
        raise BackupError(f"{path} is an SQLite file but not a crmphase database")


def restore(engine: sa.Engine, source: Path) -> None:
    """Replace every row of the database behind ``engine`` with the backup's."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    target = target_of(engine.url)
    kind = kind_of_file(source)
    if kind != target.dialect:
        raise BackupError(f"{source} is a {kind} backup; the database is {target.dialect}")
    engine.dispose()  # no pooled connection keeps the old data (or a lock) open
    if target.sqlite_path is not None:
        _check_sqlite_backup(source)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dest = sqlite3.connect(target.sqlite_path, timeout=30)
        try:
            with dest:
                src.backup(dest)  # page by page into the live file, under its write lock
        finally:
            dest.close()
            src.close()
    else:
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                f"--dbname={target.pg_url}",
                str(source),
            ],
            target,
        )
    engine.dispose()
