"""The scheduler's tick with an injected clock: month-end, catch-up, retries, the lock."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from crmphase import clock
from crmphase.jobs.locks import LeaseLock
from crmphase.jobs.models import JobRun
from crmphase.jobs.scheduler import SchedulerService
from crmphase.metrics.models import Alert, RoiSnapshot
from crmphase.notifications.models import Notification

CREATED = datetime(2025, 12, 10, tzinfo=UTC)


class FakeTime:
    """Wall-clock time for leases, moved by hand."""

    def __init__(self):
        self.value = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self):
        return self.value

    def advance(self, seconds):
        self.value += timedelta(seconds=seconds)


def service(app, name="a", time=None):
    return SchedulerService(app, LeaseLock(name, now=time or FakeTime()))


def tick_at(svc, when):
    with clock.frozen(when):
        return svc.tick()


def runs(db):
    return [
        (r.job_name, r.period, r.outcome, r.trigger)
        for r in db.session.scalars(sa.select(JobRun).order_by(JobRun.id))
    ]


def snapshot_periods(db, project):
    return list(
        db.session.scalars(
            sa.select(RoiSnapshot.period)
            .where(RoiSnapshot.project_id == project.id)
            .order_by(RoiSnapshot.period)
        )
    )


def test_month_end_produces_snapshots_alerts_and_reminders_without_a_button(
    app, db, tracked_project, make_kpi, make_user
):
    steering = make_user("steering")
    project = tracked_project(created_at=CREATED)
    project.program.steering_members = [steering]
    db.session.commit()
    make_kpi(project, baseline_period="2025-12")
    svc = service(app)
    report = tick_at(svc, "2026-02-01T02:00:00")
    assert report.active
    assert [(j, p) for j, p, _ in report.ran] == [
        ("roi_snapshot", "2025-12"),  # catch-up: the project exists since December
        ("monthly_review_export", "2025-12"),  # due since 1 January 03:00
        ("roi_snapshot", "2026-01"),
        ("measurement_check", "2026-01-31"),  # today's check is not due before 06:00
    ]
    assert snapshot_periods(db, project) == ["2025-12", "2026-01"]
    missing = db.session.scalars(sa.select(Alert.period).where(Alert.kind == "missing_measurement"))
    assert list(missing) == ["2025-12"]  # December's grace ended on 10 January
    report = tick_at(svc, "2026-02-01T03:00:00")
    assert report.ran == [("monthly_review_export", "2026-01", "succeeded")]
    sent = db.session.scalars(
        sa.select(Notification.recipient_id).where(Notification.reason_type == "export")
    )
    assert {steering.id, project.program.crmo_id} <= set(sent)
    again = tick_at(svc, "2026-02-01T03:00:30")
    assert again.active and again.ran == []  # twice-run jobs change nothing


def test_a_scheduler_down_for_three_months_catches_up_oldest_first(app, db, tracked_project):
    project = tracked_project(created_at=CREATED)
    svc = service(app)
    tick_at(svc, "2026-01-01T03:00:00")
    assert snapshot_periods(db, project) == ["2025-12"]
    first = len(runs(db))
    report = tick_at(svc, "2026-04-01T03:00:00")  # down from January to April
    assert [(j, p) for j, p, _ in report.ran if j != "measurement_check"] == [
        ("roi_snapshot", "2026-01"),
        ("monthly_review_export", "2026-01"),
        ("roi_snapshot", "2026-02"),
        ("monthly_review_export", "2026-02"),
        ("roi_snapshot", "2026-03"),
        ("monthly_review_export", "2026-03"),
    ]
    assert all(outcome == "succeeded" for _, _, outcome in report.ran)
    new_runs = runs(db)[first:]
    assert [t for j, p, o, t in new_runs if j == "roi_snapshot"] == [
        "catch_up",
        "catch_up",
        "schedule",
    ]
    assert snapshot_periods(db, project) == ["2025-12", "2026-01", "2026-02", "2026-03"]


def test_the_year_boundary_snapshots_december(app, db, tracked_project):
    project = tracked_project(created_at=datetime(2026, 12, 3, tzinfo=UTC))
    svc = service(app)
    report = tick_at(svc, "2027-01-01T01:59:00")
    assert [j for j, _, _ in report.ran] == ["measurement_check"]  # for 31 December
    tick_at(svc, "2027-01-01T02:00:00")
    assert snapshot_periods(db, project) == ["2026-12"]


def test_the_configured_timezone_moves_the_month_end(app, db, tracked_project, monkeypatch):
    monkeypatch.setenv("CRMPHASE_TIMEZONE", "Pacific/Auckland")  # UTC+13 in summer
    project = tracked_project(created_at=datetime(2026, 2, 3, tzinfo=UTC))
    svc = service(app)
    tick_at(svc, "2026-02-28T12:59:00")  # 01:59 on 1 March in Auckland
    assert snapshot_periods(db, project) == []
    tick_at(svc, "2026-02-28T13:00:00")  # 02:00 on 1 March in Auckland
    assert snapshot_periods(db, project) == ["2026-02"]


def test_a_failing_job_is_retried_at_the_next_ticks_and_the_scheduler_keeps_going(
    app, db, tracked_project, tmp_path
):
    tracked_project(created_at=datetime(2026, 1, 5, tzinfo=UTC))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the export folder should be")
    saved = app.config["CRMPHASE_EXPORT_DIR"]
    app.config["CRMPHASE_EXPORT_DIR"] = str(blocker / "exports")
    svc = service(app)
    try:
        report = tick_at(svc, "2026-02-01T06:00:00")
        outcomes = {(j, o) for j, _, o in report.ran}
        assert outcomes == {
            ("roi_snapshot", "succeeded"),
            ("monthly_review_export", "failed"),
            ("measurement_check", "succeeded"),
        }
        run = db.session.scalar(sa.select(JobRun).where(JobRun.job_name == "monthly_review_export"))
        assert "ExportError" in run.error and "cannot be created" in run.error
        assert tick_at(svc, "2026-02-01T06:00:30").ran == []  # backing off
        report = tick_at(svc, "2026-02-01T06:01:00")  # the next minute: retried
        assert report.ran == [("monthly_review_export", "2026-01", "failed")]
        app.config["CRMPHASE_EXPORT_DIR"] = saved
        assert tick_at(svc, "2026-02-01T06:02:30").ran == []  # 2 minutes after attempt 2
        report = tick_at(svc, "2026-02-01T06:03:00")
        assert report.ran == [("monthly_review_export", "2026-01", "succeeded")]
    finally:
        app.config["CRMPHASE_EXPORT_DIR"] = saved
    db.session.expire_all()
    run = db.session.scalar(sa.select(JobRun).where(JobRun.job_name == "monthly_review_export"))
    assert run.outcome == "succeeded" and run.attempts == 3 and run.trigger == "retry"
    assert [a.outcome for a in run.attempts_log] == ["failed", "failed", "succeeded"]


def test_nothing_monthly_runs_without_projects(app, db):
    report = tick_at(service(app), "2026-03-01T06:30:00")
    assert report.active
    assert [j for j, _, _ in report.ran] == ["measurement_check"]


def test_a_standby_does_nothing_until_the_holder_goes_silent(app, db, tracked_project):
    project = tracked_project(created_at=CREATED)
    time = FakeTime()
    active = service(app, "machine-a", time)
    standby = service(app, "machine-b", time)
    assert tick_at(active, "2026-01-01T01:00:00").active
    assert not tick_at(standby, "2026-01-01T02:00:00").active
    assert snapshot_periods(db, project) == []  # the standby ran nothing
    time.advance(30)
    assert not tick_at(standby, "2026-01-01T02:00:30").active  # 30 s: still the holder's
    time.advance(11)  # the holder has been silent for 41 s (> 40 s lease)
    report = tick_at(standby, "2026-01-01T02:01:00")
    assert report.active
    assert snapshot_periods(db, project) == ["2025-12"]
    assert not tick_at(active, "2026-01-01T02:01:15").active  # the old holder is a standby


def test_lease_renewal_keeps_the_lock(app, db):
    time = FakeTime()
    holder, other = LeaseLock("a", now=time), LeaseLock("b", now=time)
    with app.app_context():
        assert holder.acquire()
        for _ in range(5):
            time.advance(30)
            assert holder.acquire()  # heart-beating every 30 s
            assert not other.acquire()
        holder.release()
        assert other.acquire()  # released on shutdown: taken at once


def test_a_busy_database_does_not_cost_the_holder_its_lease_too_early(app, db, monkeypatch):

    time = FakeTime()
    lock = LeaseLock("a", now=time)
    with app.app_context():
        assert lock.acquire()

        def locked(*args, **kwargs):
            raise OperationalError("SELECT", {}, Exception("database is locked"))

        monkeypatch.setattr(db.session, "execute", locked)
        time.advance(30)
        assert lock.acquire()  # a long job holds the write lock: still ours for now
        time.advance(15)
        assert not lock.acquire()  # 45 s without a heartbeat: the lease may be gone
