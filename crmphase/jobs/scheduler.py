"""The scheduler: one process (``flask --app crmphase scheduler``), never the web workers.

One mechanism. APScheduler 3 runs one job, the *tick*, every 15 seconds, in memory. A tick
takes or renews the scheduler lock (:mod:`crmphase.jobs.locks`: a PostgreSQL advisory
lock, a lease row on SQLite); in the one process that holds it, it runs every (job, period)
the schedule owes and that has not succeeded, oldest period first, then mails the pending
notifications and drains the queues of the ``every_tick`` jobs (webhook delivery). When a
period is owed is APScheduler's too: each job's ``cron`` is a ``CronTrigger``
(:meth:`~crmphase.jobs.definition.JobDefinition.fire_time`).

Why the tick stays and the cron jobs in a database job store went (the first version had
both, and every cron fire found that the tick had already done its work):

- the tick is needed anyway: it keeps the lock (the lease's heartbeat) and lets a standby
  take over, which a cron job cannot;
- what is owed is decided from the run table, the record of what succeeded, by one function
  (:func:`due_runs`): catch-up after downtime of any length, retries of failed runs with
  back-off, and a month's snapshot before its review. A cron job fires once per period and
  knows none of that; its coalescing and hours of misfire grace repeated a part of it;
- APScheduler 3 does not support a persistent job store shared by several scheduler
  processes, so the active one had to add it when it won the lock and drop it when it lost.

The price: a job starts up to one tick (15 s) after its cron time.

Stopping (SIGTERM from systemd or a container stop, SIGINT from Ctrl-C): see
:func:`run_scheduler`.
"""

from __future__ import annotations

import logging
import signal
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask, current_app, has_app_context

from crmphase import clock
from crmphase.extensions import db
from crmphase.jobs import loaders, services
from crmphase.jobs.definition import MONTHLY, JobDefinition
from crmphase.jobs.locks import lock_for_database
from crmphase.jobs.registry import all_jobs
from crmphase.notifications.services import deliver_pending
from crmphase.periods import Period
from crmphase.programs.models import Project

log = logging.getLogger(__name__)

TICK_SECONDS = 15
TICK_JOB_ID = "crmphase.tick"
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


@dataclass
class TickReport:
    """What one tick did: whether this process held the lock, what it ran, what waits."""

    active: bool
    ran: list[tuple[str, str, str]] = field(default_factory=list)  # (job, period, outcome)
    waiting: list[tuple[str, str, str]] = field(default_factory=list)  # (job, period, why)
    delivered: dict = field(default_factory=dict)


def earliest_project_period() -> Period | None:
    """The month the first project was created in (local time), if any."""
    first = db.session.scalar(sa.select(sa.func.min(Project.created_at)))
    if first is None:
        return None
    if first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return Period.of(first.astimezone(clock.timezone()).date())


def due_runs(now: datetime) -> list[tuple[JobDefinition, str]]:
    """Every (job, period) the schedule owes at ``now`` and that has not succeeded,
    oldest period first (a month's snapshot before its review export)."""
    tz = clock.timezone()
    earliest = earliest_project_period()
    jobs = all_jobs()
    order = {job.name: index for index, job in enumerate(jobs)}
    owed: list[tuple[JobDefinition, str]] = []
    for job in jobs:
        if job.every_tick:
            continue  # a queue, drained by every tick (SchedulerService._drain_queues)
        if job.cadence == MONTHLY and earliest is None:
            continue  # no project yet: nothing to snapshot or review
        keys = job.due_keys(now, tz, earliest if job.cadence == MONTHLY else None)
        runs = loaders.runs_by_key(job.name, keys)
        for key in keys:
            run = runs.get(key)
            if run is not None and run.outcome == "succeeded":
                continue
            owed.append((job, key))
    owed.sort(key=lambda item: (item[1][:7], order[item[0].name], item[1]))
    return owed


class SchedulerService:
    """What a scheduler process does, one tick at a time (tests drive it with a clock)."""

    def __init__(self, app: Flask, lock=None, *, holder: str | None = None):
        self.app = app
        self.holder = holder
        self._lock = lock
        self.active = False  # whether this process held the lock at its last tick

    @property
    def lock(self):
        """The scheduler lock, made for the application database on first use."""
        if self._lock is None:
            with self._context():
                self._lock = lock_for_database(self.holder)
        return self._lock

    def _context(self):
        """An app context, unless this app's is already pushed (the CLI, tests)."""
        if has_app_context() and current_app._get_current_object() is self.app:
            return nullcontext()
        return self.app.app_context()

    def tick(self) -> TickReport:
        """Take or renew the lock; when active, run what is due, deliver mail and drain
        the queues of the ``every_tick`` jobs (webhook delivery)."""
        with self._context():
            self.active = self.lock.acquire()
            if not self.active:
                return TickReport(active=False)
            report = TickReport(active=True)
            self._run_due(report)
            report.delivered = self._deliver()
            self._drain_queues()
            return report

    def scheduled_tick(self) -> None:
        """What APScheduler runs every tick: :meth:`tick`, which must never stop the
        scheduler, and a log line when this process becomes active or a standby."""
        was_active = self.active
        try:
            report = self.tick()
        except Exception:
            log.exception("scheduler tick failed")
            return
        if report.active and not was_active:
            log.info("this scheduler is active (%s)", self.lock.holder)
        elif was_active and not report.active:
            log.warning("this scheduler lost the lock and is a standby now")
        for job, key, outcome in report.ran:
            log.info("ran %s %s: %s", job, key, outcome)

    def _run_due(self, report: TickReport) -> None:
        now = clock.now()
        for job, key in due_runs(now):
            existing = loaders.find_run(job.name, key)
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
                if (run := loaders.find_run(r, key)) is None or run.outcome != "succeeded"
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
        try:
            return deliver_pending()
        except Exception:
            db.session.rollback()
            log.exception("delivering notifications failed")
            return {}

    def _drain_queues(self) -> None:
        """Call every job that drains a queue (``every_tick``), outside the run table."""
        for job in all_jobs():
            if not job.every_tick or not self.lock.held:
                continue
            try:
                job.function(job.context(clock.today().isoformat(), trigger="schedule"))
            except Exception:  # never let one queue stop the scheduler
                db.session.rollback()
                log.exception("draining %s failed", job.name)

    def release(self) -> None:
        """Give the lock up (on a clean stop), so that a standby takes over at once."""
        with self._context():
            if self._lock is not None:
                self._lock.release()


def build_scheduler(
    service: SchedulerService, *, tick_seconds: int = TICK_SECONDS
) -> BackgroundScheduler:
    """An APScheduler with one job in memory: ``service``'s tick every ``tick_seconds``,
    the first at once. Late ticks (a long job ran) are coalesced into one."""
    scheduler = BackgroundScheduler(
        timezone=clock.timezone(), executors={"default": ThreadPoolExecutor(1)}
    )
    scheduler.add_job(
        service.scheduled_tick,
        "interval",
        seconds=tick_seconds,
        id=TICK_JOB_ID,
        name="tick",
        next_run_time=datetime.now(UTC),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
    )
    return scheduler


def run_scheduler(service: SchedulerService, *, tick_seconds: int = TICK_SECONDS) -> signal.Signals:
    """Tick until SIGTERM or SIGINT; then stop, release the lock and return the signal.

    The stop signals are blocked in every thread (APScheduler's start after this) and
    taken here with ``sigwait``, so no signal handler runs in the middle of APScheduler's
    code (the first version called ``shutdown()`` from one, which raised
    ``SchedulerNotRunningError`` when a signal came early or twice), and a second signal
    cannot cut the stop short. A tick that is running a job finishes it first: the job is
    one transaction, so a SIGKILL instead would only roll it back. The signals stay
    blocked: the process is ending.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    scheduler = build_scheduler(service, tick_seconds=tick_seconds)
    scheduler.start()
    try:
        received = signal.Signals(signal.sigwait(STOP_SIGNALS))
        log.info("%s received: stopping after the running tick", received.name)
    finally:
        scheduler.shutdown(wait=True)
        service.release()
    return received
