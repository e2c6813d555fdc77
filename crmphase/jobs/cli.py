"""``flask --app crmphase jobs ...`` and ``flask --app crmphase scheduler``."""

from __future__ import annotations

import logging
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from crmphase.errors import DomainError
from crmphase.extensions import db
from crmphase.jobs.loaders import last_runs, runs_query
from crmphase.jobs.registry import all_jobs
from crmphase.jobs.scheduler import TICK_SECONDS, SchedulerService, run_scheduler
from crmphase.jobs.services import run_job

jobs_cli = AppGroup("jobs", help="List, run and inspect the scheduled jobs.")


@jobs_cli.command("list", help="The jobs, their schedules and their last runs.")
def list_command():
    last = last_runs()
    for job in all_jobs():
        run = last.get(job.name)
        state = f"last: {run.period} {run.outcome}" if run else "never run"
        click.echo(f"{job.name:<24} {job.schedule_text:<52} {state}")


@jobs_cli.command("run", help="Run job NAME for a period now (a rerun recomputes its rows).")
@click.argument("name")
@click.option(
    "--period",
    default=None,
    help="YYYY-MM for monthly jobs (default: the month just ended); "
    "YYYY-MM-DD for measurement_check (default: today).",
)
def run_command(name, period):
    try:
        result = run_job(name, period, trigger="cli")
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(result.message)
    if result.ran and not result.succeeded:
        click.echo(result.run.error, err=True)
        sys.exit(1)


@jobs_cli.command("runs", help="The latest runs, newest first (optionally of one job).")
@click.argument("name", required=False)
@click.option("--limit", default=20, show_default=True, help="How many runs to show.")
def runs_command(name, limit):
    for run in db.session.scalars(runs_query(name).limit(limit)):
        took = (
            f"{(run.finished_at - run.started_at).total_seconds():.1f}s" if run.finished_at else ""
        )
        error = run.error.splitlines()[0] if run.error else ""
        click.echo(
            f"{run.started_at:%Y-%m-%d %H:%M} {run.job_name:<24} {run.period:<10} "
            f"{run.outcome:<9} {run.rows_written:>6} rows {took:>8} x{run.attempts} "
            f"{run.trigger} {error}".rstrip()
        )


@click.command("scheduler", help="Run the scheduler (one per installation; more are standbys).")
@with_appcontext
@click.option("--once", is_flag=True, help="Run a single tick and exit (cron-style, tests).")
@click.option(
    "--tick-seconds",
    default=TICK_SECONDS,
    show_default=True,
    help="How often to renew the lock and run what is due.",
)
def scheduler_command(once, tick_seconds):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # APScheduler logs each run of the tick at INFO, every 15 s; its errors still show.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    service = SchedulerService(current_app._get_current_object())
    if once:
        report = service.tick()
        click.echo("active" if report.active else "standby: another scheduler holds the lock")
        for job, key, outcome in report.ran:
            click.echo(f"ran {job} {key}: {outcome}")
        for job, key, why in report.waiting:
            click.echo(f"waiting {job} {key}: {why}")
        service.release()
        return
    click.echo(f"scheduler {service.lock.holder} starting (tick every {tick_seconds}s)")
    received = run_scheduler(service, tick_seconds=tick_seconds)
    click.echo(f"scheduler {service.lock.holder} stopped on {received.name}; lock released")


def init_app(app: Flask) -> None:
    app.cli.add_command(jobs_cli)
    app.cli.add_command(scheduler_command)
