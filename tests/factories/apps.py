"""Fresh databases and apps built with production settings (the trust tests), the
PostgreSQL admin helpers the session's database is made with too, and URLs for routes."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy.engine import make_url
from werkzeug.routing.exceptions import BuildError

from crmphase import create_app
from crmphase.extensions import db

from .auth import PASSWORD, make_token, make_user


def admin_url(url: str) -> sa.URL:
    """``url`` of a PostgreSQL server, with the driver the tests use."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+psycopg")


def pg_admin_execute(url: str, *statements: str) -> list:
    """Run statements as the server's admin (on the ``postgres`` database, outside any
    transaction); return the rows of the last one."""
    engine = sa.create_engine(admin_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            rows = []
            for statement in statements:
                result = conn.exec_driver_sql(statement)
                rows = list(result) if result.returns_rows else []
            return rows
    finally:
        engine.dispose()


@contextmanager
def postgres_database(base_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server of ``base_url`` (named ``prefix`` and a unique
    tail) for the ``with`` block, as its SQLAlchemy URL; dropped after, connections and all."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    pg_admin_execute(base_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    try:
        yield admin_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        pg_admin_execute(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_database_url(database_url, tmp_path):
    """An empty database of the same kind as the session's (new SQLite file or new
    PostgreSQL database), dropped after the test."""
    if database_url.startswith("postgresql"):
        with postgres_database(database_url, "crmphase_trust") as url:
            yield url
    else:
        yield f"sqlite:///{Path(tmp_path) / 'fresh.sqlite3'}"


@pytest.fixture
def build_app(tmp_path):
    """``build_app(url, migrate=True, **config)`` → an app on ``url`` with the production
    defaults (CSRF, rate limits, secure cookies) unless ``config`` overrides them."""
    built = []

    def build(url: str, *, migrate: bool = True, **config):
        is_pg = url.startswith("postgresql")
        settings = {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}
            if is_pg
            else {"connect_args": {"timeout": 15}},
            "CRMPHASE_EXPORT_DIR": str(tmp_path / "exports"),
            "RATELIMIT_STORAGE_URI": "memory://",
        }
        settings.update(config)
        app = create_app(settings)
        if migrate:
            with app.app_context():
                upgrade()
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def seed_user():
    """``seed_user(app, role)`` → (user id, email, API token) committed in ``app``'s
    database, by :func:`~tests.factories.auth.make_user` and ``make_token``."""

    def seed(app, role: str = "crmo", password: str = PASSWORD):
        with app.app_context():
            email = f"{role}-{secrets.token_hex(3)}@example.com"
            user = make_user(role, email, password=password)
            return user.id, email, make_token(user)

    return seed


FALLBACK_VALUES = (1, "2026-01", "x")


def build_path(rule, known: dict | None = None) -> str:
    """A URL for ``rule`` with its parameters filled from ``known`` (by name), else with
    the first fallback its converter accepts (routes added by other branches included)."""
    known = known or {}
    values = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        candidates = ([known[name]] if name in known else []) + list(FALLBACK_VALUES)
        for candidate in candidates:
            try:
                if converter is not None:
                    converter.to_url(candidate)
            except Exception:  # noqa: S112 — try the next kind of value
                continue
            values[name] = candidate
            break
    try:
        return rule.build(values, append_unknown=False)[1]
    except (BuildError, ValueError, TypeError) as exc:
        raise AssertionError(f"cannot build a URL for {rule.rule} from {values}") from exc
