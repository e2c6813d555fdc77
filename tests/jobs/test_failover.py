"""Real scheduler processes: a killed one is replaced by the standby, which catches up; a
SIGTERM stops one cleanly and frees its lock; the advisory lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmphase.jobs.locks import AdvisoryLock, current_holder
from crmphase.jobs.models import JobRun
from crmphase.metrics.models import RoiSnapshot

from .test_two_schedulers import PROJECTS, seed

ROOT = Path(__file__).resolve().parents[2]


def scheduler_env(database_url: str, now: str, lease: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CRMPHASE_NOW": now,
        "SECRET_KEY": "failover",
        "CRMPHASE_SCHEDULER_LEASE_SECONDS": str(lease),
    }


def start_scheduler(database_url: str, now: str, lease: int, *, output=subprocess.DEVNULL):
    """A real ``flask --app crmphase scheduler`` process ticking every second."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "crmphase", "scheduler", "--tick-seconds", "1"],
        cwd=ROOT,
        env=scheduler_env(database_url, now, lease),
        stdout=output,
        stderr=output,
        text=True,
        start_new_session=True,
    )


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    return None


def holder_pid(db) -> int | None:
    db.session.rollback()
    row = current_holder()
    holder = row.holder if row else None  # read before the rollback expires the row
    db.session.rollback()  # on SQLite an open transaction would hold the write lock
    return int(holder.split(":")[1]) if holder else None


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
def test_a_killed_scheduler_is_replaced_by_the_standby_which_catches_up(
    app, committed_db, database_url
):
    db = committed_db
    seed(db)
    lease = 3
    first = start_scheduler(database_url, "2026-01-01T01:00:00", lease)
    try:
        assert wait_for(lambda: holder_pid(db) == first.pid, 60), "the first never became active"
        second = start_scheduler(database_url, "2026-01-01T01:00:00", lease)
        try:
            time.sleep(3)  # the second has started and found the lock taken
            assert holder_pid(db) == first.pid
            first.send_signal(signal.SIGKILL)  # a crash: no clean release
            first.wait(timeout=10)
            took_over = wait_for(lambda: holder_pid(db) == second.pid, 90)
            assert took_over, "the standby did not take over"
            # The standby, now active, runs what the clock says is due (nothing before
            # 02:00 on the 1st except the daily check of 31 December) — and no snapshot.
            db.session.rollback()
            assert db.session.scalar(sa.select(sa.func.count(RoiSnapshot.id))) == 0
            db.session.rollback()
        finally:
            stop(second)
    finally:
        stop(first)
    # A restart in April catches up December to March for every project.
    restarted = start_scheduler(database_url, "2026-04-01T02:30:00", lease)
    try:

        def snapshots():
            db.session.rollback()
            written = db.session.scalar(sa.select(sa.func.count(RoiSnapshot.id)))
            db.session.rollback()  # on SQLite an open read would hold the write lock
            return written == 4 * PROJECTS

        assert wait_for(snapshots, 90), "the restarted scheduler did not catch up"
    finally:
        stop(restarted)


@pytest.mark.slow
def test_sigterm_stops_the_scheduler_cleanly_and_frees_its_lock(app, committed_db, database_url):
    db = committed_db
    seed(db)
    now, lease = "2026-01-01T02:30:00", 600  # a lease left behind would block for 10 min
    process = start_scheduler(database_url, now, lease, output=subprocess.PIPE)
    try:
        assert wait_for(lambda: holder_pid(db) == process.pid, 60), "it never became active"
        process.send_signal(signal.SIGTERM)  # what systemd and `docker stop` send
        time.sleep(0.05)
        process.send_signal(signal.SIGTERM)  # and an impatient operator, once more
        out, err = process.communicate(timeout=60)
    finally:
        stop(process)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "SchedulerNotRunningError" not in err, err
    assert " ERROR " not in err, err
    assert "stopped on SIGTERM; lock released" in out, out
    assert holder_pid(db) is None  # the lease row is gone (PostgreSQL: the lock too)
    db.session.rollback()
    assert (
        db.session.scalar(sa.select(sa.func.count(JobRun.id)).where(JobRun.outcome == "running"))
        == 0
    )  # a tick that was running a job finished it before the process ended
    db.session.rollback()
    second = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "crmphase", "scheduler", "--once"],
        cwd=ROOT,
        env=scheduler_env(database_url, now, lease),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("active"), second.stdout  # took over at once


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="advisory locks exist only on PostgreSQL; SQLite uses the lease, tested above",
)
def test_the_advisory_lock_is_exclusive_and_freed_when_its_connection_dies(app, committed_db):
    engine = committed_db.engine
    first, second = AdvisoryLock(engine, "a"), AdvisoryLock(engine, "b")
    try:
        assert first.acquire() and first.acquire()  # renewing keeps it
        assert not second.acquire()
        assert current_holder().holder == "a"
        first.connection.invalidate()  # the process died: its session is gone
        first.connection = None
        first.held = False
        # The server frees the lock when it notices the session is gone; standbys poll.
        assert wait_for(second.acquire, 10)
        assert not first.acquire()
        assert current_holder().holder == "b"
    finally:
        first.release()
        second.release()
