"""The scheduler: one process (``flask --app crmphase scheduler``), never the web workers.

:class:`SchedulerService` holds the logic and is driven by an injected clock in tests:
``tick()`` = take or renew the lock → if active, run every due period that has not
succeeded (catch-up after downtime, oldest first; failed runs retried with back-off) →
deliver pending mail → drain the queues of the ``every_tick`` jobs (webhook
delivery). :func:`run_scheduler` wires it to APScheduler 3: a ``tick`` every
15 seconds in memory, and the cron jobs of the job table in a job store in the
application database (added only while this process holds the lock), coalesced, with a
misfire grace of hours.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context

from crmphase import clock
from crmphase.extensions import db
from crmphase.jobs import services
from crmphase.jobs.definition import MONTHLY, JobDefinition
from crmphase.jobs.registry import all_jobs
from crmphase.periods import Period

log = logging.getLogger(__name__)

TICK_SECONDS = 15
MISFIRE_GRACE_SECONDS = 6 * 3600
JOBSTORE = "database"


@dataclass
class TickReport:
    active: bool
    ran: list[tuple[str, str, str]] = field(default_factory=list)  # (job, period, outcome)
    waiting: list[tuple[str, str, str]] = field(default_factory=list)  # (job, period, why)
    delivered: dict = field(default_factory=dict)


def earliest_project_period() -> Period | None:
    """The month the first project was created in (local time), if any."""
    from crmphase.programs.models import Project

    first = db.session.scalar(sa.select(sa.func.min(Project.created_at)))
    if first is None:
        return None
    if first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return Period.of(first.astimezone(clock.timezone()).date())


def due_runs(now: datetime, only: str | None = None) -> list[tuple[JobDefinition, str]]:
    """Every (job, period) the schedule owes at ``now`` and that has not succeeded,
    oldest period first (a month's snapshot before its review export)."""
    tz = clock.timezone()
    earliest = earliest_project_period()
    jobs = [j for j in all_jobs() if not j.every_tick and (only is None or j.name == only)]
    order = {job.name: index for index, job in enumerate(all_jobs())}
    owed: list[tuple[JobDefinition, str]] = []
    for job in jobs:
        if job.cadence == MONTHLY and earliest is None:
            continue  # no project yet: nothing to snapshot or review
        keys = job.due_keys(now, tz, earliest if job.cadence == MONTHLY else None)
        runs = services.runs_by_key(job.name, keys)
        for key in keys:
            run = runs.get(key)
            if run is not None and run.outcome == "succeeded":
                continue
            owed.append((job, key))
    owed.sort(key=lambda item: (item[1][:7], order[item[0].name], item[1]))
    return owed


class SchedulerService:
    """What a scheduler process does, one tick at a time."""

    def __init__(self, app: Flask, lock=None, *, holder: str | None = None):
        self.app = app
        self.holder = holder
        self._lock = lock

    @property
    def lock(self):
        if self._lock is None:
            from crmphase.jobs.locks import lock_for_database

            self._lock = lock_for_database(self.holder)
        return self._lock

    @property
    def active(self) -> bool:
        return bool(self._lock is not None and self._lock.held)

    def _context(self):
        """An app context, unless this app's is already pushed (the CLI, tests)."""
        if has_app_context() and current_app._get_current_object() is self.app:
            return nullcontext()
        return self.app.app_context()

    def tick(self) -> TickReport:
        """Take or renew the lock; when active, run what is due and deliver mail."""
        with self._context():
            if not self.lock.acquire():
                return TickReport(active=False)
            report = TickReport(active=True)
            self._run_due(report)
            report.delivered = self._deliver()
            self._drain_queues()
            return report

    def run_scheduled(self, name: str) -> TickReport:
        """What a cron trigger calls: run the job's due periods if this process is active."""
        if not self.active:  # the tick keeps the lock; this thread only reads the flag
            return TickReport(active=False)
        with self._context():
            report = TickReport(active=True)
            self._run_due(report, only=name)
            return report

    def _run_due(self, report: TickReport, only: str | None = None) -> None:
        now = clock.now()
        for job, key in due_runs(now, only=only):
            existing = services.find_run(job.name, key)
            trigger = "schedule"
            if existing is not None:
                if existing.outcome == "running":
                    stale = now - existing.started_at >= services.stale_after()
                    if not stale:
                        report.waiting.append((job.name, key, "running elsewhere"))
                        continue
                if existing.outcome == "failed":
                    if now < services.retry_due_at(existing):
                        report.waiting.append((job.name, key, "retry later"))
                        continue
                    trigger = "retry"
            elif key != job.latest_due(now, clock.timezone()):
                trigger = "catch_up"
            missing = [
                r
                for r in job.requires
                if (run := services.find_run(r, key)) is None or run.outcome != "succeeded"
            ]
            if missing:
                report.waiting.append((job.name, key, f"waits for {', '.join(missing)}"))
                continue
            if not self.lock.held:
                break
            try:
                result = services.run_job(
                    job.name, key, trigger=trigger, validate=False, deliver=False
                )
            except Exception:  # never let one job stop the scheduler
                db.session.rollback()
                log.exception("scheduler could not run %s %s", job.name, key)
                report.ran.append((job.name, key, "error"))
                continue
            if result.ran:
                report.ran.append((job.name, key, result.run.outcome))

    def _deliver(self) -> dict:
        from crmphase.notifications.services import deliver_pending

        try:
            return deliver_pending()
        except Exception:
            db.session.rollback()
            log.exception("delivering notifications failed")
            return {}

    def _drain_queues(self) -> None:
        """Call every job that drains a queue (``every_tick``), outside the job table."""
        for job in all_jobs():
            if not job.every_tick or not self.lock.held:
                continue
            try:
                job.function(job.context(clock.today().isoformat(), trigger="schedule"))
            except Exception:  # never let one queue stop the scheduler
                db.session.rollback()
                log.exception("draining %s failed", job.name)

    def release(self) -> None:
        with self._context():
            if self._lock is not None:
                self._lock.release()


# --- APScheduler wiring ------------------------------------------------------------------

_service: SchedulerService | None = None
_jobstore_added = False


def fire_scheduled_job(name: str) -> None:
    """The cron jobs' target (a textual reference, so it survives in the job store)."""
    if _service is not None:
        _service.run_scheduled(name)


def _tick_and_manage_jobstore(scheduler) -> None:
    global _jobstore_added
    service = _service
    if service is None:
        return
    was_active = _jobstore_added
    try:
        report = service.tick()
    except Exception:
        log.exception("scheduler tick failed")
        return
    if report.active and not was_active:
        _add_cron_jobs(scheduler, service.app)
        _jobstore_added = True
        log.info("this scheduler is active (%s)", service.lock.holder)
    elif not report.active and was_active:
        scheduler.remove_jobstore(JOBSTORE, shutdown=True)
        _jobstore_added = False
        log.warning("this scheduler lost the lock and is a standby now")
    for job, key, outcome in report.ran:
        log.info("ran %s %s: %s", job, key, outcome)


def _add_cron_jobs(scheduler, app: Flask) -> None:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    with app.app_context():
        engine = db.engine
    scheduler.add_jobstore(SQLAlchemyJobStore(engine=engine), JOBSTORE)
    tz = clock.timezone()
    for job in all_jobs():
        if job.every_tick:
            continue  # drained by the tick itself
        scheduler.add_job(
            "crmphase.jobs.scheduler:fire_scheduled_job",
            trigger=job.trigger(tz),
            args=[job.name],
            id=job.name,
            name=job.title,
            jobstore=JOBSTORE,
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            max_instances=1,
        )


def build_scheduler(
    service: SchedulerService, *, tick_seconds: int = TICK_SECONDS, scheduler_class=None
):
    """A BlockingScheduler (tests pass another class) whose tick manages the lock and the
    database job store."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    global _service, _jobstore_added
    _service, _jobstore_added = service, False
    scheduler = (scheduler_class or BlockingScheduler)(
        timezone=clock.timezone(),
        executors={"default": ThreadPoolExecutor(1), "tick": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
    )
    scheduler.add_job(
        _tick_and_manage_jobstore,
        "interval",
        seconds=tick_seconds,
        args=[scheduler],
        id="crmphase.tick",
        executor="tick",
        next_run_time=datetime.now(UTC),
        max_instances=1,
    )
    return scheduler
