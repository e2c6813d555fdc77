"""Reads of job runs: for the runner and the scheduler, the job page, the API and the CLI."""

from __future__ import annotations

import sqlalchemy as sa

from crmphase.errors import NotFound
from crmphase.extensions import db
from crmphase.jobs.models import JobRun

MAX_ID = 2**31 - 1  # the id column is a 32-bit integer


def find_run(job_name: str, key: str) -> JobRun | None:
    """The run of ``job_name`` for the period ``key``, if there is one."""
    return db.session.scalar(
        sa.select(JobRun).where(JobRun.job_name == job_name, JobRun.period == key)
    )


def get_run(run_id: int) -> JobRun:
    """The run with this id; :class:`~crmphase.errors.NotFound` (404) otherwise."""
    run = db.session.get(JobRun, run_id) if 0 < run_id <= MAX_ID else None
    if run is None:
        raise NotFound(f"no job run {run_id}")
    return run


def runs_by_key(job_name: str, keys: list[str]) -> dict[str, JobRun]:
    """The runs of ``job_name`` for the periods ``keys`` that have one, by period."""
    if not keys:
        return {}
    return {
        run.period: run
        for run in db.session.scalars(
            sa.select(JobRun).where(JobRun.job_name == job_name, JobRun.period.in_(keys))
        )
    }


def runs_query(job_name: str | None = None, outcome: str | None = None) -> sa.Select[JobRun]:
    """Runs, newest first, of one job and with one outcome if given."""
    query = sa.select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc())
    if job_name:
        query = query.where(JobRun.job_name == job_name)
    if outcome:
        query = query.where(JobRun.outcome == outcome)
    return query


def last_runs() -> dict[str, JobRun]:
    """The most recently started run of each job."""
    latest = (
        sa.select(JobRun.job_name, sa.func.max(JobRun.id).label("id"))
        .group_by(JobRun.job_name)
        .subquery()
    )
    rows = db.session.scalars(sa.select(JobRun).join(latest, latest.c.id == JobRun.id))
    return {run.job_name: run for run in rows}
