"""The database layer: SQLite pragmas and write locks, UTC timestamps, the schema."""

import threading
import time

import pytest
import sqlalchemy as sa


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory):
    """An app on its own SQLite file, whatever database the suite runs on."""
    from flask_migrate import upgrade

    from crmphase import create_app

    path = tmp_path_factory.mktemp("sqlite") / "own.sqlite3"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        upgrade()
    yield app
    from crmphase.extensions import db

    with app.app_context():
        db.engine.dispose()


def test_sqlite_pragmas(sqlite_app):
    from crmphase.extensions import db

    with sqlite_app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_two_sqlite_writers_wait_instead_of_failing(sqlite_app):
    """A second writer queues behind the first (BEGIN IMMEDIATE + busy timeout) instead of
    failing at once with "database is locked"."""
    from crmphase.auth.models import User
    from crmphase.extensions import db as committed_db

    app = sqlite_app

    started = threading.Event()
    errors: list[Exception] = []

    def first_writer():
        with app.app_context(), committed_db.engine.connect() as conn:
            conn.execute(
                sa.insert(User).values(
                    email="a@x.io", name="a", role="viewer", active=True, created_at=_now()
                )
            )
            started.set()
            time.sleep(0.5)  # hold the write lock
            conn.commit()

    def second_writer():
        started.wait()
        try:
            with app.app_context(), committed_db.engine.connect() as conn:
                # Read, then write: with a deferred BEGIN the read snapshot goes stale while
                # the first writer holds the lock, and the write fails at once.
                conn.execute(sa.select(sa.func.count()).select_from(User)).scalar()
                conn.execute(
                    sa.insert(User).values(
                        email="b@x.io", name="b", role="viewer", active=True, created_at=_now()
                    )
                )
                conn.commit()
        except Exception as exc:  # pragma: no cover - the failure this test exists for
            errors.append(exc)

    threads = [threading.Thread(target=first_writer), threading.Thread(target=second_writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        assert committed_db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 2


def _now():
    from crmphase import clock

    return clock.now()


def test_timestamps_come_back_as_utc(db, make_user):
    user = make_user("viewer")
    db.session.expire_all()
    fresh = db.session.get(type(user), user.id)
    assert fresh.created_at.tzinfo is not None
    assert fresh.created_at.utcoffset().total_seconds() == 0


def test_check_constraints_hold_in_the_database(db, make_project):
    project = make_project()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.text("UPDATE projects SET phase = 'limbo' WHERE id = :id"), {"id": project.id}
        )
        db.session.flush()
    db.session.rollback()
