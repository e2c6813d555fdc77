"""Factories of the jobs engine: job runs and their attempts."""

from __future__ import annotations

from crmphase.models import JobAttempt, JobRun

from .base import fixture_of, save


def make_job_run(job_name: str = "roi_snapshot", period: str = "2026-02", **fields) -> JobRun:
    """``make_job_run("monthly_review_export", "2026-02", outcome="failed", error=...)``: a
    run of ``job_name`` for ``period``, still running unless ``outcome`` says otherwise.

    A direct row: ``jobs.services.run_job`` claims and runs the job; the tests of runs held
    or abandoned by another runner, and of the job pages, need a run in a chosen state.
    """
    return save(JobRun(job_name=job_name, period=period, **fields))


def make_job_attempt(run: JobRun, **fields) -> JobAttempt:
    """``make_job_attempt(run)``: an attempt at ``run``, still running (a direct row, as
    :func:`make_job_run`)."""
    return save(JobAttempt(job_run_id=run.id, **fields))


make_job_run_fixture = fixture_of(make_job_run)
make_job_attempt_fixture = fixture_of(make_job_attempt)
