"""Item 7 of the trust issue: on a fresh database, the migrations build exactly the schema
the models describe (``flask db check`` finds nothing), and go back down cleanly."""

from __future__ import annotations

from decimal import Decimal

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


def test_0004_gives_existing_snapshots_their_kpi_tally(fresh_database_url, build_app):
    """Snapshots written before migration 0004 get their KPI tally from their details,
    and keep every other value (SQLite rebuilds the table to put kpi_details last)."""
    import json

    from crmphase.extensions import db

    app = build_app(fresh_database_url, migrate=False, RATELIMIT_ENABLED=False)
    assert _invoke(app, "db", "upgrade", "0003").exit_code == 0
    details = [
        {"kpi_id": 1, "status": "off_track", "attainment": "12.50"},
        {"kpi_id": 2, "status": "off_track", "attainment": "-4.00"},
        {"kpi_id": 3, "status": "on_track", "attainment": "95.00"},
        {"kpi_id": 4, "status": "bogus"},
    ]
    now = "2026-11-01 00:00:00"
    statements = [
        "INSERT INTO users (id, email, name, role, active, created_at) "
        "VALUES (1, 'm@example.com', 'M', 'manager', true, :now)",
        "INSERT INTO programs (id, name, objective, executive_sponsor, discount_rate, "
        "bite_size_max_months, measurement_grace_days, version, created_at) "
        "VALUES (1, 'Campaigns', 'o', 's', 0.08, 6, 10, 1, :now)",
        "INSERT INTO projects (id, program_id, name, objective, customer_need, department, "
        "business_lead, it_lead, manager_id, phase, state, phase_entered_on, version, "
        "created_at, updated_at) VALUES (1, 1, 'P', 'o', 'n', 'sales', 'b', 'i', 1, "
        "'execute', 'active', '2026-01-01', 1, :now, :now)",
    ]
    snapshot = (
        "INSERT INTO roi_snapshots (id, project_id, period, program_id, department, phase, "
        "state, actual_cumulative_cost, actual_cumulative_benefit, actual_net_benefit, "
        "actual_npv, plan_cumulative_cost, plan_cumulative_benefit, plan_net_benefit, plan_npv, "
        "kpi_details, due_count, measured_count, measured, status, computed_at, "
        "recomputed_count) VALUES (:id, 1, :period, 1, 'sales', 'execute', 'active', 100, 50, "
        "-50, -50, 0, 0, 0, 0, :details, 3, 2, false, 'off_track', :now, 0)"
    )
    with app.app_context():
        with db.engine.begin() as connection:
            for sql in statements:
                connection.execute(sa.text(sql), {"now": now})
            for sid, period, kpis in ((1, "2026-09", details), (2, "2026-10", None)):
                connection.execute(
                    sa.text(snapshot),
                    {"id": sid, "period": period, "now": now, "details": json.dumps(kpis)},
                )
        db.engine.dispose()
    assert _invoke(app, "db", "upgrade").exit_code == 0
    with app.app_context():
        with db.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT id, on_track_kpis, at_risk_kpis, off_track_kpis, no_data_kpis, "
                    "least_off_track_attainment, due_count, actual_net_benefit, kpi_details "
                    "FROM roi_snapshots ORDER BY id"
                )
            ).all()
        db.engine.dispose()
    first, second = rows
    assert first[:5] == (1, 1, 0, 2, 1)
    assert Decimal(str(first[5])) == Decimal("-4.00")
    assert (first[6], Decimal(str(first[7]))) == (3, Decimal("-50"))
    details_back = first[8] if isinstance(first[8], list) else json.loads(first[8])
    assert details_back == details
    assert second[1:6] == (0, 0, 0, 0, None)


def test_0005_sums_existing_snapshots_per_period_program_and_department(
    fresh_database_url, build_app
):
    """Snapshots written before migration 0005 are summed into roi_snapshot_totals: a row
    for the portfolio, each program and each department of every period."""
    from crmphase.extensions import db

    app = build_app(fresh_database_url, migrate=False, RATELIMIT_ENABLED=False)
    assert _invoke(app, "db", "upgrade", "0004").exit_code == 0
    now = "2026-11-01 00:00:00"
    user = (
        "INSERT INTO users (id, email, name, role, active, created_at) "
        "VALUES (1, 'm@example.com', 'M', 'manager', true, :now)"
    )
    program = (
        "INSERT INTO programs (id, name, objective, executive_sponsor, discount_rate, "
        "bite_size_max_months, measurement_grace_days, version, created_at) "
        "VALUES (:id, :name, 'o', 's', 0.08, 6, 10, 1, :now)"
    )
    project = (
        "INSERT INTO projects (id, program_id, name, objective, customer_need, department, "
        "business_lead, it_lead, manager_id, phase, state, phase_entered_on, version, "
        "created_at, updated_at) VALUES (:id, :program, :name, 'o', 'n', :dept, 'b', 'i', 1, "
        "'execute', 'active', '2026-01-01', 1, :now, :now)"
    )
    seed = [
        (user, {}),
        *((program, {"id": pid, "name": f"Program {pid}"}) for pid in (1, 2)),
        *(
            (project, {"id": pid, "program": prog, "name": f"P{pid}", "dept": dept})
            for pid, prog, dept in ((1, 1, "sales"), (2, 1, "service"), (3, 2, "sales"))
        ),
    ]
    snapshot = (
        "INSERT INTO roi_snapshots (project_id, period, program_id, department, phase, "
        "state, actual_cumulative_cost, actual_cumulative_benefit, actual_net_benefit, "
        "actual_npv, plan_cumulative_cost, plan_cumulative_benefit, plan_net_benefit, plan_npv, "
        "kpi_details, due_count, measured_count, measured, status, computed_at, "
        "recomputed_count, on_track_kpis, at_risk_kpis, off_track_kpis, no_data_kpis) "
        "VALUES (:project, :period, :program, :dept, 'execute', 'active', :cost, 50.25, "
        ":net, :net, 10, 20, 10, 9.5, '[]', 3, :measured, :done, 'off_track', :now, 0, "
        "1, 0, 2, 0)"
    )
    snapshots = [
        # (project, period, program, department, cost, measured KPI-periods)
        (1, "2026-09", 1, "sales", "100.10", 3),
        (2, "2026-09", 1, "service", "200.20", 1),
        (3, "2026-09", 2, "sales", "300.30", 2),
        (1, "2026-10", 1, "sales", "150.00", 3),
    ]
    with app.app_context():
        with db.engine.begin() as connection:
            for sql, params in seed:
                connection.execute(sa.text(sql), {"now": now, **params})
            for project, period, program, dept, cost, measured in snapshots:
                connection.execute(
                    sa.text(snapshot),
                    {
                        "project": project,
                        "period": period,
                        "program": program,
                        "dept": dept,
                        "cost": cost,
                        "net": str(Decimal("50.25") - Decimal(cost)),
                        "measured": measured,
                        "done": measured == 3,
                        "now": now,
                    },
                )
        db.engine.dispose()
    assert _invoke(app, "db", "upgrade").exit_code == 0
    with app.app_context():
        with db.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT period, scope, program_id, department, projects, measured_projects, "
                    "actual_cumulative_cost, actual_net_benefit, plan_npv, due_count, "
                    "measured_count, off_track_kpis FROM roi_snapshot_totals"
                )
            ).all()
        db.engine.dispose()
    found = {
        (r[0], r[1], r[2], r[3]): (
            r[4],
            r[5],
            *(Decimal(str(v)).quantize(Decimal("0.01")) for v in r[6:9]),
            *r[9:],
        )
        for r in rows
    }
    assert found == {
        ("2026-09", "portfolio", None, None): (
            3,
            1,
            Decimal("600.60"),
            Decimal("-449.85"),
            Decimal("28.50"),
            9,
            6,
            6,
        ),
        ("2026-09", "program", 1, None): (
            2,
            1,
            Decimal("300.30"),
            Decimal("-199.80"),
            Decimal("19.00"),
            6,
            4,
            4,
        ),
        ("2026-09", "program", 2, None): (
            1,
            0,
            Decimal("300.30"),
            Decimal("-250.05"),
            Decimal("9.50"),
            3,
            2,
            2,
        ),
        ("2026-09", "department", None, "sales"): (
            2,
            1,
            Decimal("400.40"),
            Decimal("-299.90"),
            Decimal("19.00"),
            6,
            5,
            4,
        ),
        ("2026-09", "department", None, "service"): (
            1,
            0,
            Decimal("200.20"),
            Decimal("-149.95"),
            Decimal("9.50"),
            3,
            1,
            2,
        ),
        ("2026-10", "portfolio", None, None): (
            1,
            1,
            Decimal("150.00"),
            Decimal("-99.75"),
            Decimal("9.50"),
            3,
            3,
            2,
        ),
        ("2026-10", "program", 1, None): (
            1,
            1,
            Decimal("150.00"),
            Decimal("-99.75"),
            Decimal("9.50"),
            3,
            3,
            2,
        ),
        ("2026-10", "department", None, "sales"): (
            1,
            1,
            Decimal("150.00"),
            Decimal("-99.75"),
            Decimal("9.50"),
            3,
            3,
            2,
        ),
    }
