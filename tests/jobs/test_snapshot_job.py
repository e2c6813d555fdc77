"""The roi_snapshot job: one snapshot per project and month, idempotent, reruns recorded,
failures rolled back whole."""

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from crmphase import clock
from crmphase.audit.models import Event
from crmphase.jobs.models import JobAttempt, JobRun
from crmphase.jobs.services import run_job
from crmphase.metrics.loaders import load_figures
from crmphase.metrics.models import RoiSnapshot
from crmphase.periods import Period

MARCH_FIRST = "2026-03-01T02:00:00"


def snapshots(db, period="2026-02"):
    return list(
        db.session.scalars(
            sa.select(RoiSnapshot).where(RoiSnapshot.period == period).order_by("project_id")
        )
    )


def test_one_snapshot_per_project_that_is_not_killed_or_retired(db, tracked_project, make_cost):
    active = tracked_project()
    held = tracked_project(state="on_hold")
    tracked_project(state="killed")
    tracked_project(state="retired")
    young = tracked_project(created_at=datetime(2026, 3, 5, tzinfo=UTC))  # after February
    make_cost(held, "2026-01", "500.00")
    with clock.frozen(MARCH_FIRST):
        result = run_job("roi_snapshot", "2026-02", trigger="schedule")
    assert result.ran and result.succeeded, result.message
    assert result.run.rows_written == 2
    rows = snapshots(db)
    assert [s.project_id for s in rows] == [active.id, held.id]
    assert young.id not in {s.project_id for s in rows}
    held_row = rows[1]
    assert held_row.state == "on_hold" and held_row.actual_cumulative_cost == Decimal("500.00")
    assert held_row.program_id == held.program_id and held_row.department == held.department
    assert held_row.budget == held.budget and held_row.phase == held.phase


def test_snapshot_holds_the_figures_of_load_figures(
    db, tracked_project, make_kpi, make_measurement, make_cost, make_benefit
):
    project = tracked_project()
    kpi = make_kpi(project)
    make_measurement(kpi, "2026-01", 10)
    make_measurement(kpi, "2026-02", 25)
    make_cost(project, "2026-01", "1000.00")
    make_benefit(project, "2026-02", "1500.00")
    make_cost(project, "2026-01", "800.00", kind="plan")
    make_benefit(project, "2026-02", "2000.00", kind="plan")
    make_cost(project, "2026-03", "9999.00")  # after the period: not counted
    with clock.frozen(MARCH_FIRST):
        run_job("roi_snapshot", "2026-02", trigger="schedule")
        expected = load_figures([project.id], Period(2026, 2))[project.id]
    (snap,) = snapshots(db)
    assert snap.actual_cumulative_cost == Decimal("1000.00") == expected.actual.cumulative_cost
    assert snap.actual_cumulative_benefit == Decimal("1500.00")
    assert snap.actual_net_benefit == Decimal("500.00")
    assert snap.actual_roi_pct == Decimal("50.00") == expected.actual.roi_pct
    assert snap.actual_npv == expected.actual.npv
    assert snap.actual_payback_period == "2026-02"
    assert snap.plan_cumulative_cost == Decimal("800.00")
    assert snap.plan_roi_pct == Decimal("150.00") == expected.plan.roi_pct
    assert snap.kpi_attainment == expected.kpi_attainment == Decimal("25.00")
    assert snap.due_count == 1 and snap.measured_count == 1 and snap.measured is True
    assert snap.status == expected.status.value
    assert snap.kpi_details[0]["kpi_id"] == kpi.id and Decimal(snap.kpi_details[0]["latest"]) == 25
    # The tally the dashboard sums is stored with the details, and read back from the row.
    db.session.expire_all()
    (stored,) = snapshots(db)
    tally = (stored.on_track_kpis, stored.at_risk_kpis, stored.off_track_kpis, stored.no_data_kpis)
    assert tally == tuple(
        sum(k["status"] == s for k in stored.kpi_details)
        for s in ("on_track", "at_risk", "off_track", "no_data")
    )
    assert sum(tally) == 1


def test_unmeasured_project_is_snapshotted_as_not_measured(db, tracked_project, make_kpi):
    project = tracked_project()
    make_kpi(project)
    with clock.frozen(MARCH_FIRST):
        run_job("roi_snapshot", "2026-02", trigger="schedule")
    (snap,) = snapshots(db)
    assert snap.due_count == 1 and snap.measured_count == 0 and snap.measured is False
    assert snap.status == "no_data"


def test_a_scheduled_run_twice_changes_nothing(db, tracked_project, make_cost):
    project = tracked_project()
    make_cost(project, "2026-02", "100.00")
    with clock.frozen(MARCH_FIRST):
        first = run_job("roi_snapshot", "2026-02", trigger="schedule")
        computed_at = snapshots(db)[0].computed_at
        make_cost(project, "2026-02", "50.00")
        second = run_job("roi_snapshot", "2026-02", trigger="schedule")
    assert first.ran and not second.ran
    assert "already succeeded" in second.message
    (snap,) = snapshots(db)
    assert snap.actual_cumulative_cost == Decimal("100.00")
    assert snap.recomputed_count == 0 and snap.computed_at == computed_at
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(JobAttempt.id))) == 1


def test_rerun_after_a_late_correction_updates_and_records_it(
    db, tracked_project, make_cost, make_user
):
    crmo = make_user("crmo")
    project = tracked_project()
    make_cost(project, "2026-02", "100.00")
    with clock.frozen(MARCH_FIRST):
        run_job("roi_snapshot", "2026-02", trigger="schedule")
    make_cost(project, "2026-02", "25.00")  # a late correction
    with clock.frozen("2026-03-04T09:00:00"):
        rerun = run_job("roi_snapshot", "2026-02", trigger="manual", actor=crmo)
    assert rerun.ran and rerun.succeeded and "re-ran" in rerun.message
    (snap,) = snapshots(db)
    assert snap.actual_cumulative_cost == Decimal("125.00")
    assert snap.recomputed_count == 1
    assert snap.computed_at == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    run = rerun.run
    assert run.attempts == 2 and run.trigger == "manual"
    assert [a.trigger for a in run.attempts_log] == ["schedule", "manual"]
    assert [a.triggered_by_id for a in run.attempts_log] == [None, crmo.id]
    events = {e.action: e for e in db.session.scalars(sa.select(Event))}
    assert events["job.rerun"].actor_id == crmo.id
    assert events["job.rerun"].after["period"] == "2026-02"
    changed = events["snapshot.recomputed"]
    assert changed.project_id == project.id
    assert changed.before["actual_cumulative_cost"] == "100.00"
    assert changed.after["actual_cumulative_cost"] == "125.00"


def test_a_failing_job_is_rolled_back_whole_and_recorded(db, tracked_project, monkeypatch):
    from crmphase.metrics import loaders

    tracked_project()
    tracked_project()
    real = loaders.load_figures

    class Broken:
        def __getattr__(self, name):
            db.session.flush()  # the first project's row is already in the transaction
            assert db.session.scalar(sa.select(sa.func.count(RoiSnapshot.id))) == 1
            raise RuntimeError("figures unavailable")

    def half_then_boom(ids, period):
        figures = real(ids, period)
        return {ids[0]: figures[ids[0]], ids[1]: Broken()}

    monkeypatch.setattr(loaders, "load_figures", half_then_boom)
    with clock.frozen(MARCH_FIRST):
        failed = run_job("roi_snapshot", "2026-02", trigger="schedule")
    assert failed.ran and failed.run.outcome == "failed"
    assert failed.run.error.startswith("RuntimeError: figures unavailable")
    assert snapshots(db) == []  # no partial snapshot
    assert failed.run.finished_at is not None and failed.run.rows_written == 0
    monkeypatch.setattr(loaders, "load_figures", real)
    with clock.frozen("2026-03-01T02:01:00"):
        retried = run_job("roi_snapshot", "2026-02", trigger="retry")
    assert retried.succeeded and retried.run.attempts == 2
    assert [a.outcome for a in retried.run.attempts_log] == ["failed", "succeeded"]
    assert len(snapshots(db)) == 2


def test_a_run_held_by_another_runner_is_not_run_twice(db, tracked_project, make_job_run):
    tracked_project()
    with clock.frozen(MARCH_FIRST):
        make_job_run("roi_snapshot", "2026-02", outcome="running")
        result = run_job("roi_snapshot", "2026-02", trigger="manual")
    assert not result.ran and "already running" in result.message
    assert snapshots(db) == []


def test_a_run_abandoned_by_a_dead_runner_is_taken_over(
    db, tracked_project, make_job_run, make_job_attempt
):
    tracked_project()
    with clock.frozen("2026-03-01T02:00:00"):
        make_job_attempt(make_job_run("roi_snapshot", "2026-02", outcome="running"))
    with clock.frozen("2026-03-01T03:00:00"):
        result = run_job("roi_snapshot", "2026-02", trigger="schedule")
    assert result.ran and result.succeeded
    assert [a.outcome for a in result.run.attempts_log] == ["failed", "succeeded"]
    assert "abandoned" in result.run.attempts_log[0].error
    assert len(snapshots(db)) == 1


def test_duration_is_real_time_even_when_the_clock_is_fixed(db, tracked_project, monkeypatch):
    import time

    from crmphase.metrics import loaders

    tracked_project()
    real = loaders.snapshot_subjects

    def slow(period):
        time.sleep(0.2)
        return real(period)

    monkeypatch.setattr(loaders, "snapshot_subjects", slow)
    with clock.frozen(MARCH_FIRST):
        run = run_job("roi_snapshot", "2026-02", trigger="schedule").run
    assert run.started_at == datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    assert 0.2 <= (run.finished_at - run.started_at).total_seconds() < 10


def test_a_runner_whose_run_was_taken_over_discards_its_work(
    db, tracked_project, make_job_run, make_job_attempt
):
    from crmphase.jobs.registry import get_job
    from crmphase.jobs.services import RunClaim, execute_claim

    tracked_project()
    with clock.frozen(MARCH_FIRST):
        run = make_job_run("roi_snapshot", "2026-02", outcome="running", attempts=2)
        mine = make_job_attempt(run)
        # We claimed attempt 1; meanwhile another runner took the run over (attempt 2).
        stale = RunClaim(run.id, mine.id, 1, None, 0, clock.now())
        execute_claim(get_job("roi_snapshot"), "2026-02", stale, "schedule", None)
    db.session.expire_all()
    assert snapshots(db) == []  # our work was rolled back
    assert db.session.get(JobRun, run.id).outcome == "running"  # the other runner's
    attempt = db.session.get(JobAttempt, mine.id)
    assert attempt.outcome == "failed" and attempt.error.startswith("superseded")
