"""``flask jobs ...`` and ``flask scheduler --once``."""

import sqlalchemy as sa

from crmphase import clock
from crmphase.metrics import loaders
from crmphase.metrics.models import RoiSnapshot


def test_help_texts(runner):
    for args in (["jobs", "--help"], ["jobs", "run", "--help"], ["scheduler", "--help"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0
    assert "--period" in runner.invoke(args=["jobs", "run", "--help"]).output
    assert "standbys" in runner.invoke(args=["scheduler", "--help"]).output


def test_run_list_and_runs(runner, db, tracked_project):
    tracked_project()
    with clock.frozen("2026-03-02T10:00:00"):
        result = runner.invoke(args=["jobs", "run", "roi_snapshot", "--period", "2026-02"])
        assert result.exit_code == 0, result.output
        assert "roi_snapshot ran for 2026-02: 1 rows" in result.output
        listing = runner.invoke(args=["jobs", "list"]).output
        assert "last: 2026-02 succeeded" in listing and "never run" in listing
        runs = runner.invoke(args=["jobs", "runs"]).output
        assert "roi_snapshot" in runs and "succeeded" in runs and "cli" in runs
    assert db.session.scalar(sa.select(sa.func.count(RoiSnapshot.id))) == 1


def test_bad_input_is_a_clear_error_not_a_traceback(runner, db):
    with clock.frozen("2026-03-02T10:00:00"):
        unknown = runner.invoke(args=["jobs", "run", "nope"])
        future = runner.invoke(args=["jobs", "run", "roi_snapshot", "--period", "2026-03"])
    assert unknown.exit_code != 0 and "no job named 'nope'" in unknown.output
    assert future.exit_code != 0 and "has not ended yet" in future.output


def test_a_failed_run_exits_non_zero_with_its_error(runner, db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database of KPIs is on fire")

    monkeypatch.setattr(loaders, "load_tracking", broken)
    with clock.frozen("2026-03-02T10:00:00"):
        result = runner.invoke(args=["jobs", "run", "measurement_check"])
    assert result.exit_code == 1
    assert "measurement_check failed for 2026-03-02" in result.output


def test_scheduler_once_runs_what_is_due(runner, db, tracked_project):
    tracked_project()
    with clock.frozen("2026-01-01T02:30:00"):
        result = runner.invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("active")
    assert "ran roi_snapshot 2025-12: succeeded" in result.output
