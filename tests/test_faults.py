"""Item 4 of the trust issue: the database goes away or is locked under a running app.

PostgreSQL: the test's own database refuses connections and its sessions are terminated
(the shared server itself is never restarted) → requests get 503 problem JSON, then the
app recovers by itself (pool pre-ping) once connections are allowed again.
SQLite: another writer holds the lock → a write waits the busy timeout, then 503; the
database stays intact.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.factories.apps import pg_admin_execute

pytestmark = pytest.mark.slow


def _is_pg(url: str) -> bool:
    return url.startswith("postgresql")


def _assert_503_problem(response):
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 503
    assert "database" in response.json["detail"]
    assert response.headers["Retry-After"]


# --- PostgreSQL --------------------------------------------------------------------------


def _terminate_sessions(url: str, name: str) -> None:
    # ``name`` is the test's own generated database name, not input
    query = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s'"
    pg_admin_execute(url, query % name + " AND pid <> pg_backend_pid()")


def test_postgres_going_away_gives_503_then_recovers_without_restart(
    fresh_database_url, build_app, seed_user
):
    if not _is_pg(fresh_database_url):
        pytest.skip("a PostgreSQL fault: run with TEST_DATABASE_URL=postgresql://... (CI does)")
    name = make_url(fresh_database_url).database
    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False)
    _, _, token = seed_user(app, "crmo")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/programs", headers=headers).status_code == 200

    pg_admin_execute(fresh_database_url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        _terminate_sessions(fresh_database_url, name)
        _assert_503_problem(client.get("/api/v1/programs", headers=headers))
        _assert_503_problem(client.post("/api/v1/programs", json={"name": "x"}, headers=headers))
        page = client.get("/healthz")
        assert page.status_code == 503
    finally:
        pg_admin_execute(fresh_database_url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    # the same app, not restarted, serves again
    assert client.get("/api/v1/programs", headers=headers).status_code == 200
    created = client.post("/api/v1/programs", json={"name": "After the outage"}, headers=headers)
    assert created.status_code == 201


def test_postgres_dying_in_the_middle_of_a_request_gives_503(
    fresh_database_url, build_app, seed_user
):
    """The connection is killed after the request has begun using it: the statement in
    flight fails, the answer is a 503 (not a 500), and the next request succeeds."""
    if not _is_pg(fresh_database_url):
        pytest.skip("a PostgreSQL fault: run with TEST_DATABASE_URL=postgresql://... (CI does)")
    from crmphase.extensions import db

    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False)
    _, _, token = seed_user(app, "crmo")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    killed = []

    def kill_own_backend(conn, cursor, statement, *args):
        if not killed and "FROM programs" in statement:
            killed.append(conn.connection.dbapi_connection.info.backend_pid)
            pg_admin_execute(fresh_database_url, f"SELECT pg_terminate_backend({killed[0]})")

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", kill_own_backend)
    try:
        _assert_503_problem(client.get("/api/v1/programs", headers=headers))
    finally:
        sa.event.remove(engine, "before_cursor_execute", kill_own_backend)
    assert killed
    assert client.get("/api/v1/programs", headers=headers).status_code == 200


# --- SQLite ------------------------------------------------------------------------------


def test_sqlite_locked_by_another_writer_waits_then_503_and_stays_intact(
    fresh_database_url, build_app, seed_user
):
    if _is_pg(fresh_database_url):
        pytest.skip("an SQLite fault: the SQLite run covers it")
    busy_ms = 300
    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False, SQLITE_BUSY_TIMEOUT_MS=busy_ms)
    _, _, token = seed_user(app, "crmo")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.post("/api/v1/programs", json={"name": "Before"}, headers=headers).status_code == 201
    )

    path = make_url(fresh_database_url).database
    other_writer = sqlite3.connect(path, isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")
    other_writer.execute(
        "INSERT INTO programs (name, objective, executive_sponsor, "
        "discount_rate, bite_size_max_months, measurement_grace_days, "
        "version, created_at) VALUES ('Held', '', '', 0.08, 6, 10, 1, "
        "'2026-01-01 00:00:00')"
    )
    try:
        started = time.monotonic()
        response = client.post("/api/v1/programs", json={"name": "Blocked"}, headers=headers)
        waited = time.monotonic() - started
        _assert_503_problem(response)
        assert busy_ms / 1000 * 0.9 <= waited < 10, waited  # a bounded wait, not at once
        # readers are not blocked by a writer (WAL)
        assert client.get("/api/v1/programs", headers=headers).status_code == 200
    finally:
        other_writer.execute("COMMIT")
        other_writer.close()

    assert (
        client.post("/api/v1/programs", json={"name": "After"}, headers=headers).status_code == 201
    )
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = {row[0] for row in check.execute("SELECT name FROM programs")}
    finally:
        check.close()
    assert names == {"Before", "Held", "After"}  # the refused write left nothing behind


def test_sqlite_writer_released_during_the_wait_lets_the_request_through(
    fresh_database_url, build_app, seed_user
):
    if _is_pg(fresh_database_url):
        pytest.skip("an SQLite fault: the SQLite run covers it")
    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False, SQLITE_BUSY_TIMEOUT_MS=5000)
    _, _, token = seed_user(app, "crmo")
    path = make_url(fresh_database_url).database
    other_writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other_writer.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: other_writer.execute("COMMIT"))
    release.start()
    try:
        response = app.test_client().post(
            "/api/v1/programs",
            json={"name": "Waited"},
            headers={"Authorization": f"Bearer {token}"},
        )
    finally:
        release.join()
        other_writer.close()
    assert response.status_code == 201
