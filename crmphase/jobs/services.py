"""Running a job for a period: claim the run, do the work in one transaction, record it.

Idempotent by construction. The ``job_runs`` row for (job, period) is unique: whoever
inserts it (or flips it with a compare-and-swap on ``attempts``) owns the run; everybody
else returns without running. The job's writes and the run's outcome commit together, so
a job that raises leaves nothing behind but a failed run with its error (written in a
separate transaction) that the next tick retries.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from crmphase import clock, config
from crmphase.audit.services import record_event
from crmphase.database import rows_matched
from crmphase.errors import Conflict
from crmphase.extensions import db
from crmphase.jobs.definition import JobDefinition
from crmphase.jobs.loaders import find_run
from crmphase.jobs.models import JobAttempt, JobRun
from crmphase.jobs.registry import get_job
from crmphase.notifications.services import deliver_pending

log = logging.getLogger(__name__)

MANUAL_TRIGGERS = ("manual", "api", "cli")
MAX_RETRY_DELAY_MINUTES = 60
ERROR_LIMIT = 4000


def stale_after() -> timedelta:
    """How long a run may stay 'running' before another runner may take it over (the
    first runner's process died). Its late commit is refused by the compare-and-swap."""
    return timedelta(minutes=config.job_stale_minutes())


@dataclass(frozen=True)
class RunResult:
    """What happened when somebody asked for a run."""

    run: JobRun
    ran: bool
    message: str

    @property
    def succeeded(self) -> bool:
        return self.run.outcome == "succeeded"


@dataclass(frozen=True)
class RunClaim:
    """A run this runner owns: its row and attempt, and the attempt number the
    compare-and-swap of the outcome checks (another runner that takes over bumps it)."""

    run_id: int
    attempt_id: int
    attempts: int
    previous_outcome: str | None
    previous_rows: int
    started_at: datetime

    def finished_at(self, started_monotonic: float) -> datetime:
        """The start plus the real time the work took: a clock fixed by CRMPHASE_NOW
        still shows how long a run took."""
        return self.started_at + timedelta(seconds=time.monotonic() - started_monotonic)


def retry_due_at(run: JobRun) -> datetime:
    """When a failed run is retried by the schedule: a minute after its last attempt
    started, then backing off (2, 4, 8 ... minutes, at most an hour) so that a broken job
    does not hammer."""
    delay = min(2 ** max(run.attempts - 1, 0), MAX_RETRY_DELAY_MINUTES)
    return run.started_at + timedelta(minutes=delay)


def run_job(
    name: str,
    period: str | None = None,
    *,
    trigger: str = "manual",
    actor=None,
    validate: bool = True,
    deliver: bool = True,
) -> RunResult:
    """Run job ``name`` for ``period`` (YYYY-MM, or YYYY-MM-DD for a daily job).

    A manual run (``trigger`` manual/api/cli) of a period that already succeeded runs
    again: snapshots are updated, the attempt is kept, an audit event says so. A scheduled
    run of a succeeded period, or any run while another runner holds the period, returns
    without running. ``validate`` refuses bad and future periods (422).
    """
    job = get_job(name)
    key = job.parse_period(period) if validate else str(period)
    _check_requirements(job, key)
    rerun_allowed = trigger in MANUAL_TRIGGERS
    claim = _claim(job, key, trigger, actor, rerun_allowed=rerun_allowed)
    if isinstance(claim, str):
        run = find_run(job.name, key)
        if run is None:
            raise Conflict(claim)
        return RunResult(run, False, claim)
    execute_claim(job, key, claim, trigger, actor)
    if deliver:
        try:
            deliver_pending()
        except Exception:  # mail must never turn a finished run into an error
            log.exception("delivering notifications after %s %s failed", name, key)
            db.session.rollback()
    run = db.session.get(JobRun, claim.run_id)
    if run is None:
        raise Conflict(f"the run of {job.name} for {key} was deleted while it ran")
    db.session.refresh(run)
    if run.outcome == "succeeded":
        verb = "re-ran" if claim.previous_outcome == "succeeded" else "ran"
        return RunResult(run, True, f"{job.name} {verb} for {key}: {run.rows_written} rows")
    if run.outcome == "failed":
        reason = (run.error.splitlines() or ["no error text"])[0]
        return RunResult(run, True, f"{job.name} failed for {key}: {reason}")
    return RunResult(run, False, f"{job.name} for {key} was taken over by another runner")


def _check_requirements(job: JobDefinition, key: str) -> None:
    for required in job.requires:
        run = find_run(required, key)
        if run is None or run.outcome != "succeeded":
            raise Conflict(
                f"{job.name} for {key} needs {required} for {key} to have succeeded first; "
                f"run {required} for {key}, then this job"
            )


def _claim(job: JobDefinition, key: str, trigger: str, actor, *, rerun_allowed: bool):
    """Own the run of (job, period), or say (a string) why somebody else has it."""
    now = clock.now()
    actor_id = getattr(actor, "id", None)
    run: JobRun | None
    try:
        run = JobRun(
            job_name=job.name,
            period=key,
            started_at=now,
            outcome="running",
            attempts=1,
            trigger=trigger,
        )
        db.session.add(run)
        db.session.flush()
        attempt = JobAttempt(
            job_run_id=run.id, started_at=now, trigger=trigger, triggered_by_id=actor_id
        )
        db.session.add(attempt)
        db.session.flush()
        claim = RunClaim(run.id, attempt.id, 1, None, 0, now)
        db.session.commit()
        return claim
    except IntegrityError:
        db.session.rollback()
    run = find_run(job.name, key)
    if run is None:  # deleted between our insert and our read: let the caller retry
        return f"{job.name} for {key} changed while starting; try again"
    if run.outcome == "running" and now - run.started_at < stale_after():
        return f"{job.name} for {key} is already running (started {run.started_at:%H:%M} UTC)"
    if run.outcome == "succeeded" and not rerun_allowed:
        return f"{job.name} for {key} already succeeded"
    previous, attempts, rows = run.outcome, run.attempts, run.rows_written
    swapped = db.session.execute(
        sa.update(JobRun)
        .where(
            JobRun.id == run.id,
            JobRun.attempts == attempts,
            JobRun.outcome == previous,
        )
        .values(
            outcome="running",
            attempts=attempts + 1,
            started_at=now,
            finished_at=None,
            error="",
            trigger=trigger,
        )
        .execution_options(synchronize_session=False)
    )
    if rows_matched(swapped) != 1:
        db.session.rollback()
        return f"{job.name} for {key} was taken by another runner"
    if previous == "running":  # the earlier runner died: close its attempt
        db.session.execute(
            sa.update(JobAttempt)
            .where(JobAttempt.job_run_id == run.id, JobAttempt.outcome == "running")
            .values(outcome="failed", finished_at=now, error="abandoned: the runner stopped")
            .execution_options(synchronize_session=False)
        )
    attempt = JobAttempt(
        job_run_id=run.id, started_at=now, trigger=trigger, triggered_by_id=actor_id
    )
    db.session.add(attempt)
    db.session.flush()
    claim = RunClaim(run.id, attempt.id, attempts + 1, previous, rows, now)
    db.session.commit()
    db.session.expire_all()
    return claim


def execute_claim(job: JobDefinition, key: str, claim: RunClaim, trigger: str, actor) -> None:
    """Run the job for the claimed period in one transaction and record the outcome, unless
    another runner has taken the run over meanwhile (then the work is rolled back)."""
    rerun = claim.previous_outcome == "succeeded"
    context = job.context(
        key,
        trigger=trigger,
        actor=actor,
        rerun=rerun,
        run_id=claim.run_id,
        attempt=claim.attempts,
    )
    started = time.monotonic()
    try:
        rows = int(job.function(context) or 0)
        finished = claim.finished_at(started)
        if not _finish(claim, "succeeded", rows, "", finished):
            raise _Superseded()
        if rerun:
            record_event(
                actor,
                "job.rerun",
                "job_run",
                claim.run_id,
                before={"job": job.name, "period": key, "rows_written": claim.previous_rows},
                after={
                    "job": job.name,
                    "period": key,
                    "rows_written": rows,
                    "attempt": claim.attempts,
                },
            )
        db.session.commit()
        log.info("job %s %s succeeded: %s rows", job.name, key, rows)
    except _Superseded:
        db.session.rollback()
        log.warning("job %s %s: another runner took the run over; work discarded", job.name, key)
        _record_attempt_failure(claim, "superseded: another runner took this run over")
    except Exception as exc:
        db.session.rollback()
        # The trace is kept in the run's error text (job page, `flask jobs runs`).
        log.warning("job %s %s failed: %s: %s", job.name, key, type(exc).__name__, exc)
        _record_failure(claim, _error_text(exc), claim.finished_at(started))


class _Superseded(Exception):
    pass


def _finish(claim: RunClaim, outcome: str, rows: int, error: str, finished: datetime) -> bool:
    """Set the run's outcome if we still own it (compare-and-swap on ``attempts``)."""
    result = db.session.execute(
        sa.update(JobRun)
        .where(
            JobRun.id == claim.run_id,
            JobRun.attempts == claim.attempts,
            JobRun.outcome == "running",
        )
        .values(outcome=outcome, finished_at=finished, rows_written=rows, error=error)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(JobAttempt)
        .where(JobAttempt.id == claim.attempt_id)
        .values(outcome=outcome, finished_at=finished, rows_written=rows, error=error)
        .execution_options(synchronize_session=False)
    )
    return rows_matched(result) == 1


def _record_failure(claim: RunClaim, error: str, finished: datetime) -> None:
    try:
        _finish(claim, "failed", 0, error, finished)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record the failure of run %s", claim.run_id)


def _record_attempt_failure(claim: RunClaim, error: str) -> None:
    try:
        db.session.execute(
            sa.update(JobAttempt)
            .where(JobAttempt.id == claim.attempt_id)
            .values(outcome="failed", finished_at=clock.now(), error=error)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record attempt %s", claim.attempt_id)


def _error_text(exc: BaseException) -> str:
    """The error as the job page shows it: the message first, then where it happened."""
    head = f"{type(exc).__name__}: {exc}"
    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-4))
    return (head + "\n\n" + trace)[:ERROR_LIMIT]
