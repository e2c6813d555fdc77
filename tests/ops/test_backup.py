"""Item 5 of the trust issue: ``flask backup OUT`` and ``flask restore IN`` round-trip the
whole database, table by table and row by row (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmphase.extensions import db
from tests.factories.metrics import make_benefit, make_cost, make_kpi, make_measurement

pytestmark = pytest.mark.slow


def fill(app) -> None:
    """Some of everything: users, tokens, programs, projects, KPIs, measurements, money,
    audit events; then the demo portfolio (whatever ``flask demo`` loads)."""
    from crmphase.auth import services as auth
    from crmphase.auth.models import ApiToken
    from crmphase.programs import services as programs

    with app.app_context():
        crmo = auth.create_user("crmo@example.com", "crmo", "correct horse battery staple")
        manager = auth.create_user("pm@example.com", "manager", "correct horse battery staple")
        auth.create_user("sc@example.com", "steering", None)
        auth.issue_token(crmo, "bi export")
        auth.revoke_token(db.session.scalar(sa.select(sa.func.max(ApiToken.id))), crmo)
        auth.issue_token(manager, "script")
        program = programs.create_program(
            crmo, {"name": "Know the customer", "discount_rate": Decimal("0.08")}
        )
        for n in range(3):
            project = programs.create_project(
                manager,
                {
                    "program_id": program.id,
                    "name": f"Project {n} — Ünïcödé",
                    "department": "sales",
                    "manager_id": manager.id,
                    "budget": Decimal("12345.67"),
                    "planned_start": date(2026, 1, 1),
                    "planned_end": date(2026, 6, 30),
                    "team_member_ids": [crmo.id],
                },
            )
            kpi = make_kpi(
                project,
                name="Cost per lead",
                direction="down",
                baseline_value=Decimal("10.5"),
                target_value=Decimal("8.25"),
                target_period="2026-06",
                owner_id=manager.id,
            )
            make_measurement(kpi, "2026-02", "9.75")
            make_cost(project, "2026-02", "1000.01", category="software")
            make_benefit(project, "2026-03", "2500.00", kind="plan")
        programs.update_project(crmo, project, {"name": "Renamed"}, project.version)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code == 0, result.output


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table (and the migration version), in primary-key order."""
    with app.app_context():
        db.engine.dispose()
        rows = {}
        with db.engine.connect() as conn:
            for table in db.metadata.sorted_tables:
                order = list(table.primary_key.columns) or list(table.columns)
                rows[table.name] = [
                    tuple(r) for r in conn.execute(sa.select(table).order_by(*order))
                ]
            rows["alembic_version"] = [
                tuple(r) for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            ]
        return rows


def damage(app) -> None:
    """Changes a restore must undo: deleted, changed and added rows in several tables."""
    with app.app_context(), db.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM measurements")
        conn.exec_driver_sql("DELETE FROM cost_entries")
        conn.exec_driver_sql("UPDATE programs SET name = 'Overwritten ' || id")
        conn.exec_driver_sql("UPDATE users SET role = 'viewer'")
        conn.exec_driver_sql(
            "INSERT INTO events (occurred_at, action, subject_type) "
            "VALUES ('2026-05-01 00:00:00', 'forged', 'nothing')"
        )


def _invoke(app, *args, input=None):
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), input=input)


def test_backup_and_restore_round_trip_every_table(fresh_database_url, build_app, tmp_path):
    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False)
    fill(app)
    before = snapshot(app)
    assert sum(len(rows) for rows in before.values()) > 30
    out = tmp_path / "crmphase.backup"

    result = _invoke(app, "backup", str(out))
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0
    assert not list(tmp_path.glob("*.partial"))

    damage(app)
    assert snapshot(app) != before

    declined = _invoke(app, "restore", str(out), input="n\n")
    assert declined.exit_code != 0
    assert snapshot(app)["programs"][0][1].startswith(
        "Overwritten "
    )  # asking first changed nothing

    result = _invoke(app, "restore", str(out), "--yes")
    assert result.exit_code == 0, result.output
    after = snapshot(app)
    assert after.keys() == before.keys()
    for table in before:
        assert after[table] == before[table], f"table {table} differs after restore"

    # the restored database is fully usable: sequences continue, the audit guard holds
    from crmphase.auth import services

    with app.app_context():
        user = services.create_user("after@example.com", "viewer", None)
        assert user.id > max(row[0] for row in before["users"])


def test_restore_refuses_a_file_that_is_not_a_backup(fresh_database_url, build_app, tmp_path):
    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False)
    fill(app)
    before = snapshot(app)
    bogus = tmp_path / "not-a-backup"
    bogus.write_bytes(b"hello, I am not a database")
    result = _invoke(app, "restore", str(bogus), "--yes")
    assert result.exit_code == 1
    assert "is not a crmphase backup" in result.output
    missing = _invoke(app, "restore", str(tmp_path / "nope"), "--yes")
    assert missing.exit_code == 1
    assert "does not exist" in missing.output
    assert snapshot(app) == before


def test_a_backup_into_a_missing_folder_is_a_clear_error(fresh_database_url, build_app, tmp_path):
    app = build_app(fresh_database_url, RATELIMIT_ENABLED=False)
    result = _invoke(app, "backup", str(tmp_path / "no" / "such" / "folder" / "x.backup"))
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_the_backup_command_works_from_the_shell(fresh_database_url, build_app, tmp_path):
    build_app(fresh_database_url, RATELIMIT_ENABLED=False)  # migrated
    out = tmp_path / "shell.backup"
    env = {**os.environ, "DATABASE_URL": fresh_database_url}
    flask = Path(sys.executable).with_name("flask")
    result = subprocess.run(
        [str(flask), "--app", "crmphase", "backup", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    assert "backed up" in result.stdout
    assert out.stat().st_size > 0
