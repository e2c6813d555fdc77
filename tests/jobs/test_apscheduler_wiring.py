"""The APScheduler wiring: one job, the tick, in memory, coalesced; the jobs' schedules are
cron triggers with stable ids; the tick runs jobs only while it holds the lock;
create_app() starts nothing."""

import logging
import threading

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler

from crmphase import clock, create_app
from crmphase.jobs import scheduler as scheduler_module
from crmphase.jobs.registry import all_jobs
from crmphase.jobs.scheduler import TICK_JOB_ID, SchedulerService, build_scheduler


def test_create_app_never_starts_a_scheduler(app, monkeypatch):

    started = []
    monkeypatch.setattr(BaseScheduler, "start", lambda self, *a, **k: started.append(self))
    threads_before = {t.ident for t in threading.enumerate()}
    web = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    web.test_client().get("/login")
    assert started == []
    assert {t.ident for t in threading.enumerate()} <= threads_before


class Switch:
    """A lock that is held or not, as the test says."""

    holder = "test"
    held = True

    def acquire(self):
        return self.held

    def release(self):
        self.held = False


def test_the_one_job_is_the_tick_in_memory_and_the_schedule_is_cron(app, committed_db):
    scheduler = build_scheduler(SchedulerService(app, Switch()))
    scheduler.start(paused=True)
    try:
        (tick,) = scheduler.get_jobs()  # no cron jobs, no second job store
        assert tick.id == TICK_JOB_ID and tick.trigger.interval.total_seconds() == 15
        assert tick.coalesce is True and tick.max_instances == 1
        assert tick.misfire_grace_time is None  # a late tick still runs, once
    finally:
        scheduler.shutdown(wait=False)
    with committed_db.engine.connect() as conn:
        assert "apscheduler_jobs" not in sa.inspect(conn).get_table_names()
    jobs = {job.name: job for job in all_jobs()}  # stable ids, cron triggers
    assert set(jobs) == {
        "roi_snapshot",
        "measurement_check",
        "monthly_review_export",
        "webhook_delivery",  # SPEC §7 (issue 20)
    }
    trigger = jobs["roi_snapshot"].trigger(clock.timezone())
    assert str(trigger).startswith("cron[") and "day='1'" in str(trigger)


@pytest.fixture
def scheduler_log(caplog, monkeypatch):
    """The scheduler's log records (the migrations' logging.config disabled its logger)."""
    monkeypatch.setattr(scheduler_module.log, "disabled", False)
    caplog.set_level(logging.INFO, logger=scheduler_module.log.name)
    return caplog


def test_the_scheduled_tick_runs_jobs_only_while_holding_the_lock(
    app, db, monkeypatch, scheduler_log
):
    calls = []
    lock = Switch()
    lock.held = False
    service = SchedulerService(app, lock)
    monkeypatch.setattr(scheduler_module, "due_runs", lambda now: calls.append(True) or [])
    service.scheduled_tick()
    assert calls == []  # a standby does nothing
    lock.held = True
    service.scheduled_tick()
    service.scheduled_tick()
    assert calls == [True, True]
    lock.held = False  # lost the lock
    service.scheduled_tick()
    assert calls == [True, True]
    messages = [r.getMessage() for r in scheduler_log.records]
    assert messages == [
        "this scheduler is active (test)",
        "this scheduler lost the lock and is a standby now",
    ]


def test_a_failing_tick_is_logged_and_the_next_one_runs(app, db, monkeypatch, scheduler_log):
    service = SchedulerService(app, Switch())
    ticks = []

    def broken(now):
        ticks.append(now)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(scheduler_module, "due_runs", broken)
    service.scheduled_tick()
    service.scheduled_tick()
    assert len(ticks) == 2
    assert [r.getMessage() for r in scheduler_log.records if r.levelno == logging.ERROR] == [
        "scheduler tick failed",
        "scheduler tick failed",
    ]
