"""Fixtures: a migrated database (SQLite, or PostgreSQL via TEST_DATABASE_URL), per-test
rollback, clients for pages and the API, a local SMTP server; the factories (fixtures that
return callables) are in ``tests/factories/``."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

os.environ.setdefault("SECRET_KEY", "test-" + secrets.token_hex(8))

# The factories are plugins (below) that this module also imports: rewrite their asserts.
pytest.register_assert_rewrite("tests.factories")

from crmphase import create_app  # noqa: E402
from crmphase.extensions import db as _db  # noqa: E402
from tests.factories.apps import admin_url, postgres_database  # noqa: E402
from tests.factories.auth import PASSWORD, make_token  # noqa: E402

pytest_plugins = [
    "tests.factories.auth",
    "tests.factories.programs",
    "tests.factories.phases",
    "tests.factories.metrics",
    "tests.factories.notifications",
    "tests.factories.jobs",
    "tests.factories.exports",
    "tests.factories.integrations",
    "tests.factories.scenarios",
    "tests.factories.apps",
]


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    return url if url.startswith(("postgres://", "postgresql")) else None


def _check_postgres(url: str) -> None:
    try:
        engine = sa.create_engine(admin_url(url).set(database="postgres"))
        with engine.connect():
            pass
        engine.dispose()
    except sa.exc.OperationalError as exc:
        message = f"cannot connect to PostgreSQL at {url}: {exc.orig}"
        if os.environ.get("CI"):
            pytest.exit(message, returncode=3)
        pytest.exit(
            f"SKIPPED the PostgreSQL run: {message}. Start PostgreSQL or unset "
            "TEST_DATABASE_URL to run on SQLite.",
            returncode=0,
        )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """A fresh database for the test session, built by the Alembic migrations."""
    pg = _postgres_url()
    if pg:
        _check_postgres(pg)
        with postgres_database(pg, "crmphase_test") as url:
            yield url
    else:
        path = tmp_path_factory.mktemp("db") / "crmphase-test.sqlite3"
        yield f"sqlite:///{path}"


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}
            if is_postgres(database_url)
            else {"connect_args": {"timeout": 15}},
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "CRMPHASE_EXPORT_DIR": str(tmp_path_factory.mktemp("exports")),
            "SERVER_NAME": None,
        }
    )
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()

    # The `db` fixture keeps one app context pushed, so test-client requests share `g`.
    # In production each request has its own; start every test request with an empty `g`
    # so that one client's signed-in user (Flask-Login caches it there) or API user never
    # leaks into another client's request.
    def fresh_g():
        from flask import g

        for name in list(vars(g)):
            delattr(g, name)

    app.before_request_funcs.setdefault(None, []).insert(0, fresh_g)
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """The database session, rolled back after the test (services' commits included)."""
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _db.session
        # Flask-SQLAlchemy's Session.get_bind ignores a bind option, so the rolled-back
        # session is a plain SQLAlchemy one on the test's connection.
        _db.session = sa.orm.scoped_session(
            sa.orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()


@pytest.fixture
def committed_db(app):
    """A session that really commits (for tests across connections); tables emptied after."""
    with app.app_context():
        yield _db
        _db.session.remove()
        truncate_all(app)


def truncate_all(app) -> None:
    with app.app_context():
        tables = list(reversed(_db.metadata.sorted_tables))
        with _db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            else:
                for table in tables:
                    conn.execute(table.delete())


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


class ApiClient:
    """A test client that sends a bearer token and JSON."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, headers):
        headers = dict(headers or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return headers

    def open(self, method, path, **kwargs):
        kwargs["headers"] = self._headers(kwargs.get("headers"))
        return self.client.open(path, method=method, **kwargs)

    def get(self, path, **kw):
        return self.open("GET", path, **kw)

    def post(self, path, **kw):
        return self.open("POST", path, **kw)

    def put(self, path, **kw):
        return self.open("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.open("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.open("DELETE", path, **kw)


@pytest.fixture
def api(app, db, make_user):
    """``api(user_or_role)`` → an API client authenticated as that user (None: anonymous)."""
    tokens: dict[int, str] = {}

    def for_user(who=None) -> ApiClient:
        if who is None:
            return ApiClient(app.test_client(), None)
        user = make_user(role=who) if isinstance(who, str) else who
        if user.id not in tokens:
            tokens[user.id] = make_token(user)
        return ApiClient(app.test_client(), tokens[user.id])

    return for_user


@pytest.fixture
def login(app):
    """``login(client, user)`` signs the user in through the login page."""

    def sign_in(client, user):
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.data
        return client

    return sign_in


@pytest.fixture
def page_client(app, db, login):
    """``page_client(user)`` → a test client signed in as ``user``."""

    def make(user):
        return login(app.test_client(), user)

    return make


@pytest.fixture
def count_queries(app):
    """``with count_queries() as counter:`` counts SQL statements (for N+1 guards)."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        statements: list[str] = []

        def before(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN")):
                statements.append(statement)

        engine = _db.engine
        sa.event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            sa.event.remove(engine, "before_cursor_execute", before)

    return counting


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(os.environ.get("CRMPHASE_TEST_ARTIFACTS", "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def tmp_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


class Inbox:
    """What the local SMTP server received, as parsed messages."""

    def __init__(self):
        self.messages = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler API
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on 127.0.0.1 (random port); the app is configured to use it."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config[k] for k in ("MAIL_SMTP_HOST", "MAIL_SMTP_PORT", "MAIL_FROM")}
    app.config.update(
        MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=port, MAIL_FROM="crmphase@example.com"
    )
    try:
        yield inbox
    finally:
        app.config.update(saved)
        controller.stop()
