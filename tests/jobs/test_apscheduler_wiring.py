"""The APScheduler wiring: cron jobs in the database job store only while active,
coalesced, with hours of misfire grace, stable ids; create_app() starts nothing."""

import threading

import sqlalchemy as sa

from crmphase import create_app
from crmphase.jobs import scheduler as scheduler_module
from crmphase.jobs.locks import LeaseLock
from crmphase.jobs.scheduler import JOBSTORE, SchedulerService, build_scheduler


def test_create_app_never_starts_a_scheduler(app, monkeypatch):
    from apscheduler.schedulers.base import BaseScheduler

    started = []
    monkeypatch.setattr(BaseScheduler, "start", lambda self, *a, **k: started.append(self))
    threads_before = {t.ident for t in threading.enumerate()}
    web = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    web.test_client().get("/login")
    assert started == []
    assert {t.ident for t in threading.enumerate()} <= threads_before


def test_the_tick_adds_and_removes_the_database_job_store(app, committed_db, monkeypatch):
    from apscheduler.schedulers.background import BackgroundScheduler

    class Switch:
        """A lock that is held or not, as the test says."""

        holder = "test"
        held = True

        def acquire(self):
            return self.held

        def release(self):
            self.held = False

    lock = Switch()
    service = SchedulerService(app, lock)
    monkeypatch.setattr(scheduler_module, "due_runs", lambda now, only=None: [])
    scheduler = build_scheduler(service, scheduler_class=BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        tick = scheduler.get_job("crmphase.tick")
        assert tick.executor == "tick" and tick.trigger.interval.total_seconds() == 15
        scheduler_module._tick_and_manage_jobstore(scheduler)
        jobs = {job.id: job for job in scheduler.get_jobs(jobstore=JOBSTORE)}
        assert set(jobs) == {"roi_snapshot", "measurement_check", "monthly_review_export"}
        snapshot = jobs["roi_snapshot"]
        assert snapshot.coalesce is True and snapshot.misfire_grace_time == 6 * 3600
        assert snapshot.func_ref == "crmphase.jobs.scheduler:fire_scheduled_job"
        assert str(snapshot.trigger).startswith("cron[") and "day='1'" in str(snapshot.trigger)
        with committed_db.engine.connect() as conn:
            stored = set(conn.scalars(sa.text("SELECT id FROM apscheduler_jobs")))
        assert stored == set(jobs)
        scheduler_module._tick_and_manage_jobstore(scheduler)  # still active: same ids
        assert len(scheduler.get_jobs(jobstore=JOBSTORE)) == 3
        lock.held = False  # lost the lock: a standby keeps no cron jobs
        scheduler_module._tick_and_manage_jobstore(scheduler)
        assert scheduler.get_jobs() == [scheduler.get_job("crmphase.tick")]
    finally:
        scheduler.shutdown(wait=False)
        with committed_db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM apscheduler_jobs"))


def test_fire_scheduled_job_runs_only_on_the_active_process(app, db, monkeypatch):
    calls = []
    service = SchedulerService(app, LeaseLock("x"))
    monkeypatch.setattr(service, "_run_due", lambda report, only=None: calls.append(only))
    monkeypatch.setattr(scheduler_module, "_service", service)
    scheduler_module.fire_scheduled_job("roi_snapshot")
    assert calls == []  # a standby (never acquired) does nothing
    with app.app_context():
        assert service.lock.acquire()
    scheduler_module.fire_scheduled_job("roi_snapshot")
    assert calls == ["roi_snapshot"]
