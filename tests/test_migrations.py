"""Item 7 of the trust issue: on a fresh database, the migrations build exactly the schema
the models describe (``flask db check`` finds nothing), and go back down cleanly."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.slow


def _invoke(app, *args):
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def _tables(app) -> set[str]:
    from crmphase.extensions import db

    with app.app_context():
        db.engine.dispose()
        return set(sa.inspect(db.engine).get_table_names())


def test_upgrade_from_empty_then_check_then_downgrade(fresh_database_url, build_app):
    from crmphase.extensions import db

    app = build_app(fresh_database_url, migrate=False, RATELIMIT_ENABLED=False)
    assert _tables(app) == set()

    upgraded = _invoke(app, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert {t.name for t in db.metadata.sorted_tables} | {"alembic_version"} == _tables(app)

    checked = _invoke(app, "db", "check")
    assert checked.exit_code == 0, f"models and migrations disagree:\n{checked.output}"

    down = _invoke(app, "db", "downgrade", "base")
    assert down.exit_code == 0, down.output
    assert _tables(app) <= {"alembic_version"}

    again = _invoke(app, "db", "upgrade")  # and back up: the downgrade left no debris
    assert again.exit_code == 0, again.output


def test_db_check_fails_when_a_model_drifts_from_the_migrations(fresh_database_url, build_app):
    """The check above is not vacuous: a column added to a model without a migration
    makes ``flask db check`` fail."""
    from crmphase.extensions import db

    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False)
    table = db.metadata.tables["programs"]
    column = sa.Column("drift_probe", sa.Integer)
    table.append_column(column)
    try:
        checked = _invoke(app, "db", "check")
    finally:
        table._columns.remove(column)
    assert checked.exit_code != 0
