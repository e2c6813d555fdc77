"""Two runners at once — threads and whole processes — against one database write each
job run and each snapshot exactly once (PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from crmphase import clock
from crmphase.jobs.models import JobAttempt, JobRun
from crmphase.jobs.scheduler import SchedulerService
from crmphase.jobs.services import run_job
from crmphase.metrics.models import RoiSnapshot
from crmphase.programs.models import Project
from tests.factories.auth import make_user
from tests.factories.programs import make_program, make_project

ROOT = Path(__file__).resolve().parents[2]
PROJECTS = 6


def seed(db) -> list[int]:
    """A program with projects, committed for real (other connections must see them)."""
    manager = make_user("manager", name="Manager")
    program = make_program("Know the customer", crmo=make_user("crmo", name="CRMO"))
    for n in range(PROJECTS):
        make_project(
            f"Project {n}",
            program=program,
            manager=manager,
            department="sales",
            phase="execute",
            phase_entered_on=date(2025, 12, 1),
            created_at=datetime(2025, 12, 5, tzinfo=UTC),
        )
    ids = list(db.session.scalars(sa.select(Project.id)))
    db.session.commit()  # end the read: on SQLite it would hold the write lock
    return ids


def in_threads(app, target, count=2):
    barrier = threading.Barrier(count)
    results, errors = [], []

    def work(index):
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results.append(target(index))
        except Exception as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def count(db, model, *where):
    db.session.rollback()
    value = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
    db.session.rollback()
    return value


def test_two_manual_runs_at_once_write_each_row_once(app, committed_db):
    db = committed_db
    seed(db)

    def run(_index):
        return run_job("roi_snapshot", "2025-12", trigger="schedule", deliver=False).ran

    # One frozen clock for all threads (the override is process-wide; a thread that left
    # its own `with clock.frozen()` first would unfreeze the others).
    with clock.frozen("2026-01-01T02:00:00"):
        ran = in_threads(app, run, count=4)
    assert sorted(ran) == [False, False, False, True]
    assert count(db, JobRun) == 1 and count(db, JobAttempt) == 1
    assert count(db, RoiSnapshot, RoiSnapshot.period == "2025-12") == PROJECTS


def test_two_schedulers_at_once_only_one_is_active(app, committed_db):
    db = committed_db
    seed(db)
    services = [SchedulerService(app, holder=f"machine-{n}") for n in range(2)]

    def tick(index):
        return services[index].tick().active

    try:
        with clock.frozen("2026-01-01T02:00:00"):
            active = in_threads(app, tick)
    finally:
        for svc in services:
            svc.release()
    assert sorted(active) == [False, True]
    assert count(db, RoiSnapshot) == PROJECTS
    assert count(db, JobRun, JobRun.job_name == "roi_snapshot") == 1


def test_two_scheduler_processes_write_each_snapshot_once(app, committed_db, database_url):
    db = committed_db
    seed(db)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CRMPHASE_NOW": "2026-02-01T02:00:00",
        "SECRET_KEY": "two-schedulers",
    }
    env.pop("FLASK_APP", None)
    command = [sys.executable, "-m", "flask", "--app", "crmphase", "scheduler", "--once"]
    processes = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert out.startswith(("active", "standby")), out
    assert any(out.startswith("active") for out, _ in outputs)
    # Each process was active or a standby; whoever came second found nothing left to do.
    assert count(db, RoiSnapshot, RoiSnapshot.period == "2025-12") == PROJECTS
    assert count(db, RoiSnapshot, RoiSnapshot.period == "2026-01") == PROJECTS
    assert count(db, RoiSnapshot) == 2 * PROJECTS
    assert count(db, JobRun, JobRun.job_name == "roi_snapshot") == 2
    assert count(db, JobAttempt) == count(db, JobRun)  # nothing ran twice
