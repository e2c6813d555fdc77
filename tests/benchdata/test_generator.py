"""``flask bench-data`` and the portfolio it writes."""

from collections import defaultdict

import pytest
import sqlalchemy as sa

from crmphase.benchdata.generator import PortfolioExists
from crmphase.periods import Period
from tests.factories.programs import make_program


def _rows(db, statement):
    return db.session.execute(sa.text(statement)).all()


def test_a_tiny_portfolio_is_consistent(bench_portfolio, committed_db):
    from crmphase import clock
    from crmphase.metrics.loaders import load_tracking
    from tests.factories.scenarios import BENCH_NOW

    result = bench_portfolio(programs=3, projects=12, months=18, seed=5)
    db = committed_db
    assert result.counts["programs"] == 3
    assert result.counts["projects"] == 12
    assert str(result.last_period) == "2026-05"
    assert str(result.first_period) == "2024-12"
    assert result.counts["measurements"] > 100
    assert result.counts["gate_decisions"] > 10

    # Every measured period is tracked (active in execute or manage), at or after the
    # KPI's baseline, in its cadence, and not after the last complete month.
    project_ids = [r.id for r in _rows(db, "SELECT id FROM projects")]
    with clock.frozen(BENCH_NOW):
        tracking = load_tracking(project_ids, through=result.last_period)
    measurements = _rows(
        db,
        "SELECT k.project_id, k.baseline_period, k.cadence, m.period FROM measurements m "
        "JOIN kpis k ON k.id = m.kpi_id",
    )
    assert measurements
    for project_id, baseline, cadence, period in measurements:
        period = Period.parse(period)
        assert period in tracking[project_id].tracked
        assert period >= Period.parse(baseline)
        assert period <= result.last_period
        if cadence == "quarterly":
            assert period.is_quarter_end

    # Gaps exist, but most due KPI-periods are measured (coverage 80 to 99.9 %).
    with clock.frozen(BENCH_NOW):
        due = [
            kp
            for t in tracking.values()
            for kp in t.kpi_periods(through=result.last_period, today=clock.today())
        ]
    measured = sum(kp.measured for kp in due)
    assert 0.8 < measured / len(due) < 0.999

    # Phases and states follow from the decisions, in order; deciders are steering or the
    # CRMO and never the project's manager; each decision closes a review.
    decisions = defaultdict(list)
    for row in _rows(
        db,
        "SELECT d.project_id, d.phase, d.from_state, d.resulting_phase, d.resulting_state, "
        "u.role, d.decided_by_id, r.status FROM gate_decisions d "
        "JOIN users u ON u.id = d.decided_by_id JOIN gate_reviews r ON r.id = d.review_id "
        "ORDER BY d.decided_at, d.id",
    ):
        decisions[row.project_id].append(row)
    for project in _rows(db, "SELECT id, phase, state, manager_id FROM projects"):
        phase, state = "strategize", "active"
        for d in decisions[project.id]:
            assert (d.phase, d.from_state) == (phase, state)
            assert d.role in ("steering", "crmo")
            assert d.decided_by_id != project.manager_id
            assert d.status == "decided"
            phase, state = d.resulting_phase, d.resulting_state
        assert (project.phase, project.state) == (phase, state)

    # Every project has the criteria of the gate it is in.
    with_criteria = {
        (r.project_id, r.phase) for r in _rows(db, "SELECT project_id, phase FROM gate_criteria")
    }
    for project in _rows(db, "SELECT id, phase FROM projects"):
        assert (project.id, project.phase) in with_criteria

    # Projects that went to execute have an approved business case: plan costs and benefits.
    went_to_execute = {
        r.project_id
        for r in _rows(
            db, "SELECT project_id FROM gate_decisions WHERE resulting_phase = 'execute'"
        )
    }
    assert went_to_execute
    for table in ("cost_entries", "benefit_entries"):
        planned = {
            r.project_id
            for r in _rows(db, f"SELECT project_id FROM {table} WHERE kind = 'plan'")  # noqa: S608
        }
        assert went_to_execute <= planned
        latest_actual = _rows(
            db,
            f"SELECT MAX(period) FROM {table} WHERE kind = 'actual'",  # noqa: S608
        )[0][0]
        assert latest_actual <= str(result.last_period)


def _fingerprint(db):
    return (
        _rows(
            db,
            "SELECT name, department, phase, state, budget, phase_entered_on, planned_start "
            "FROM projects ORDER BY id",
        ),
        _rows(db, "SELECT decision, decided_at FROM gate_decisions ORDER BY id"),
        _rows(db, "SELECT kpi_id, period, value FROM measurements ORDER BY id"),
        _rows(db, "SELECT period, kind, amount FROM cost_entries ORDER BY id"),
    )


def test_same_seed_and_clock_give_the_same_portfolio(app, bench_portfolio, committed_db):
    from tests.conftest import truncate_all

    bench_portfolio(programs=2, projects=6, months=12, seed=7)
    first = _fingerprint(committed_db)
    committed_db.session.remove()
    truncate_all(app)
    bench_portfolio(programs=2, projects=6, months=12, seed=7)
    again = _fingerprint(committed_db)
    committed_db.session.remove()
    truncate_all(app)
    bench_portfolio(programs=2, projects=6, months=12, seed=8)
    other = _fingerprint(committed_db)
    assert first == again
    assert first != other


def test_refuses_a_database_with_programs_unless_appending(bench_portfolio, committed_db):
    from crmphase.programs.models import Program

    first = bench_portfolio(programs=2, projects=4, months=6, seed=1)
    with pytest.raises(PortfolioExists, match="--append"):
        bench_portfolio(programs=2, projects=4, months=6, seed=1)
    second = bench_portfolio(programs=2, projects=4, months=6, seed=1, append=True)
    assert second.crmo_email != first.crmo_email
    db = committed_db
    assert db.session.scalar(sa.select(sa.func.count(Program.id))) == 4
    # The application's own inserts go on after the generated ids (PostgreSQL sequences).
    make_program("Made by hand", objective="x")


def test_generated_users_sign_in_with_the_printed_password(app, bench_portfolio, bench_login):
    result = bench_portfolio(programs=1, projects=2, months=6, seed=2)
    for email in result.emails.values():
        client = bench_login(app.test_client(), email)
        assert client.get("/projects").status_code == 200


def test_cli_prints_rows_and_logins_and_refuses_a_second_run(app, committed_db):
    runner = app.test_cli_runner()
    args = ["bench-data", "--programs", "2", "--projects", "4", "--months", "6", "--seed", "3"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "Rows:" in result.output
    assert "measurements" in result.output
    assert "crmo-" in result.output
    again = runner.invoke(args=args)
    assert again.exit_code == 2
    assert "already has 2 program(s)" in again.output
    assert "--append" in again.output
    appended = runner.invoke(args=[*args, "--append"])
    assert appended.exit_code == 0, appended.output


def test_cli_checks_its_options(app, committed_db):
    runner = app.test_cli_runner()
    fewer = runner.invoke(args=["bench-data", "--programs", "5", "--projects", "2"])
    assert fewer.exit_code == 2
    assert "at least as many projects as programs" in fewer.output
    zero = runner.invoke(args=["bench-data", "--months", "0"])
    assert zero.exit_code == 2
    assert "--months" in zero.output
    helped = runner.invoke(args=["bench-data", "--help"])
    assert "--seed" in helped.output
    assert "size L is --programs 200 --projects 2000 --months 60" in " ".join(helped.output.split())


def _records(db):
    return {
        "projects": set(
            _rows(db, "SELECT id, name, phase, state, created_at, phase_entered_on FROM projects")
        ),
        "kpis": set(
            _rows(
                db,
                "SELECT id, project_id, name, baseline_value, baseline_period, target_value, "
                "target_period, cadence FROM kpis",
            )
        ),
        "measurements": set(_rows(db, "SELECT kpi_id, period, value, source FROM measurements")),
        "costs": set(_rows(db, "SELECT project_id, period, kind, amount FROM cost_entries")),
        "benefits": set(_rows(db, "SELECT project_id, period, kind, amount FROM benefit_entries")),
        "decisions": set(
            _rows(
                db, "SELECT project_id, decision, resulting_phase, decided_at FROM gate_decisions"
            )
        ),
    }


def _last_month_snapshots(db, period):
    from crmphase import clock
    from crmphase.jobs.services import run_job
    from tests.factories.scenarios import BENCH_NOW

    with clock.frozen(BENCH_NOW):
        run_job("roi_snapshot", str(period), trigger="cli", deliver=False)
    return _rows(
        db,
        "SELECT project_id, due_count, measured_count, kpi_attainment, status "
        "FROM roi_snapshots ORDER BY project_id",
    )


def test_a_shorter_history_is_the_same_portfolio_without_its_earlier_records(
    app, bench_portfolio, committed_db
):
    from crmphase import clock
    from crmphase.benchdata.generator import generate_portfolio
    from tests.conftest import truncate_all
    from tests.factories.scenarios import BENCH_NOW

    db = committed_db
    full = bench_portfolio(programs=2, projects=14, months=24, seed=4)
    everything = _records(db)
    full_snapshots = _last_month_snapshots(db, full.last_period)
    db.session.remove()
    truncate_all(app)
    with clock.frozen(BENCH_NOW):
        short = generate_portfolio(programs=2, projects=14, months=24, seed=4, history_months=12)
    kept = _records(db)
    short_snapshots = _last_month_snapshots(db, short.last_period)

    assert full.records_from is None
    assert str(short.records_from) == "2025-06"
    assert "Records kept from 2025-06 on." in short.summary_lines()
    assert kept["projects"] == everything["projects"]
    assert kept["kpis"] == everything["kpis"]
    for name in ("measurements", "costs", "benefits"):
        earlier = {row for row in everything[name] if row[1] < "2025-06"}
        assert earlier, name
        assert kept[name] == everything[name] - earlier, name

    def day(row):
        return str(row[3])[:10]

    assert kept["decisions"] == {row for row in everything["decisions"] if day(row) >= "2025-06-01"}
    assert len(kept["decisions"]) < len(everything["decisions"])
    # The last month is the same: the same snapshots, KPIs due, measured and attained.
    assert short_snapshots == full_snapshots
    assert len(full_snapshots) > 5


def test_cli_keeps_no_more_history_than_months(app, committed_db):
    runner = app.test_cli_runner()
    longer = runner.invoke(args=["bench-data", "--months", "6", "--history-months", "7"])
    assert longer.exit_code == 2
    assert "--history-months" in longer.output
