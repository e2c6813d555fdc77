"""Item 5 of the trust issue: the audit trail is append-only, in the app and (when the
app's database role is set up as docs/SECURITY.md says) in PostgreSQL itself."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa

from crmphase.audit.models import AuditTrailImmutable, Event
from crmphase.audit.services import record_event


@pytest.fixture
def event(db, make_user):
    user = make_user("crmo")
    recorded = record_event(user, "program.created", "program", 1, after={"name": "P"})
    db.session.commit()
    return recorded


def test_an_event_cannot_be_changed_through_the_orm(db, event):
    event.action = "program.deleted"
    with pytest.raises(AuditTrailImmutable):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Event, event.id).action == "program.created"


def test_an_event_cannot_be_deleted_through_the_orm(db, event):
    db.session.delete(event)
    with pytest.raises(AuditTrailImmutable):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Event, event.id) is not None


@pytest.mark.parametrize(
    "statement",
    [
        lambda: sa.update(Event).values(action="x"),
        lambda: sa.delete(Event),
        lambda: sa.update(Event).where(Event.id > 0).values(after=None),
    ],
    ids=["update", "delete", "update where"],
)
def test_bulk_statements_on_events_are_refused(db, event, statement):
    with pytest.raises(AuditTrailImmutable):
        db.session.execute(statement())
    db.session.rollback()
    assert db.session.get(Event, event.id).action == "program.created"


def test_new_events_are_still_appended(db, event, make_user):
    record_event(make_user("viewer"), "token.issued", "api_token", 9)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) >= 2


def test_no_route_changes_or_deletes_events(app):
    for rule in app.url_map.iter_rules():
        if "event" in rule.rule or "histor" in rule.rule:
            assert not (rule.methods & {"POST", "PUT", "PATCH", "DELETE"}), rule.rule


def test_the_app_role_on_postgres_cannot_update_or_delete_events(database_url, app, db, event):
    """The set-up of docs/SECURITY.md: the app's role may insert and read events, not
    change them, even with hand-written SQL."""
    if not database_url.startswith("postgresql"):
        pytest.skip("database roles are a PostgreSQL feature; the PostgreSQL run covers it")
    role = f"crmphase_app_{secrets.token_hex(4)}"
    conn = db.session.connection()
    try:
        conn.exec_driver_sql(f"CREATE ROLE {role} NOLOGIN")
        conn.exec_driver_sql(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
        )
        conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        conn.exec_driver_sql(f"REVOKE UPDATE, DELETE, TRUNCATE ON events FROM {role}")
        conn.exec_driver_sql(f"SET ROLE {role}")
        conn.exec_driver_sql("SAVEPOINT as_app")
        conn.exec_driver_sql(
            "INSERT INTO events (occurred_at, action, subject_type) "
            "VALUES (now(), 'appended', 'test')"
        )
        for statement in (
            f"UPDATE events SET action = 'forged' WHERE id = {event.id}",  # noqa: S608
            f"DELETE FROM events WHERE id = {event.id}",  # noqa: S608
            "TRUNCATE events",
        ):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT as_app")
        # other tables stay writable for the role
        conn.exec_driver_sql("UPDATE users SET name = name")
    finally:
        conn.exec_driver_sql("RESET ROLE")


def test_grant_app_role_makes_events_append_only_for_that_role(
    fresh_database_url, build_app, database_url
):
    if not database_url.startswith("postgresql"):
        pytest.skip("database roles are a PostgreSQL feature; the PostgreSQL run covers it")
    from crmphase.extensions import db as ext_db
    from tests.factories.apps import pg_admin_execute

    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False)
    role = f"crmphase_app_{secrets.token_hex(4)}"
    pg_admin_execute(database_url, f"CREATE ROLE {role} NOLOGIN")
    try:
        with app.app_context():
            result = app.test_cli_runner().invoke(args=["grant-app-role", role])
            assert result.exit_code == 0, result.output
            assert f"REVOKE UPDATE, DELETE, TRUNCATE ON events FROM {role};" in result.output
            with ext_db.engine.connect() as conn:
                conn.exec_driver_sql(f"SET ROLE {role}")
                conn.exec_driver_sql(
                    "INSERT INTO events (occurred_at, action, subject_type) "
                    "VALUES (now(), 'appended', 'test')"
                )
                conn.exec_driver_sql("UPDATE programs SET name = name")
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    conn.exec_driver_sql("UPDATE events SET action = 'forged'")
                conn.rollback()
            ext_db.engine.dispose()
    finally:
        with app.app_context(), ext_db.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")  # its grants in this database
        with app.app_context():
            ext_db.engine.dispose()
        pg_admin_execute(database_url, f"DROP ROLE IF EXISTS {role}")


def test_grant_app_role_refuses_odd_names_and_sqlite(fresh_database_url, build_app):
    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["grant-app-role", "x; DROP TABLE events"])
    assert result.exit_code == 1
    assert "role" in result.output
