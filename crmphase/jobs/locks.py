"""The lock that makes one scheduler active and the others hot standbys.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) held on a dedicated
connection. When the active process dies its connection closes and the lock is free at
once; a standby polling every few seconds takes over.

SQLite (one machine): a lease row in ``scheduler_locks`` with a heartbeat. A holder that
has not renewed it for ``LEASE_SECONDS`` loses it to the next standby that asks.

Both also keep the lease row up to date, so the job page can show who is active and when
it was last heard from. Lease times are wall-clock times, not the business clock: a
``CRMPHASE_NOW`` that fixes "today" for a demo must not freeze the liveness of processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from crmphase import config
from crmphase.extensions import db
from crmphase.jobs.models import SchedulerLock

log = logging.getLogger(__name__)

LOCK_NAME = "scheduler"
LEASE_SECONDS = 40  # a holder silent this long loses the lease (standbys poll every 15 s)
ADVISORY_KEY = 0x63726D70_68617365  # "crmphase"


def configured_lease_seconds() -> int:
    """How long a silent holder keeps the SQLite lease (``CRMPHASE_SCHEDULER_LEASE_SECONDS``)."""
    return config.scheduler_lease_seconds(LEASE_SECONDS)


def wall_clock() -> datetime:
    """Real time for process liveness (never the business clock, see the module doc)."""
    return datetime.now(UTC)


def holder_name() -> str:
    """This process's name in the lock: host, pid and a random tail."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class LeaseLock:
    """A lease row with a heartbeat (works on any database; used on SQLite)."""

    def __init__(
        self,
        holder: str | None = None,
        *,
        lease_seconds: int | None = None,
        now: Callable[[], datetime] = wall_clock,
    ):
        self.holder = holder or holder_name()
        self.lease = timedelta(seconds=lease_seconds or configured_lease_seconds())
        self.now = now
        self.held = False
        self.last_beat: datetime | None = None

    def acquire(self) -> bool:
        """Take or renew the lease; True while this process holds it."""
        now = self.now()
        try:
            row = db.session.execute(
                sa.select(SchedulerLock).where(SchedulerLock.name == LOCK_NAME).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                db.session.add(
                    SchedulerLock(
                        name=LOCK_NAME, holder=self.holder, acquired_at=now, heartbeat_at=now
                    )
                )
            elif row.holder == self.holder:
                row.heartbeat_at = now
            elif now - row.heartbeat_at > self.lease:
                log.warning(
                    "scheduler %s takes over from %s (silent since %s)",
                    self.holder,
                    row.holder,
                    row.heartbeat_at,
                )
                row.holder, row.acquired_at, row.heartbeat_at = self.holder, now, now
            else:
                db.session.rollback()
                self.held = False
                return False
            db.session.commit()
        except (IntegrityError, OperationalError) as exc:
            db.session.rollback()
            log.info("scheduler lease not renewed: %s", exc.__class__.__name__)
            # Busy (a long job holds SQLite's write lock): a holder keeps believing in its
            # lease until it would have expired; nobody else can take it before that.
            self.held = bool(
                self.held and self.last_beat is not None and now - self.last_beat < self.lease
            )
            return self.held
        self.held = True
        self.last_beat = now
        return True

    def release(self) -> None:
        """Delete the lease row if this process holds it, so that a standby takes over at
        once (a failure leaves it to expire)."""
        if not self.held:
            return
        try:
            db.session.execute(
                sa.delete(SchedulerLock).where(
                    SchedulerLock.name == LOCK_NAME, SchedulerLock.holder == self.holder
                )
            )
            db.session.commit()
        except OperationalError as exc:
            db.session.rollback()
            log.warning("scheduler lease not released (it expires by itself): %s", exc)
        self.held = False


class AdvisoryLock:
    """A PostgreSQL advisory lock on a connection of its own (plus the lease row, for show)."""

    def __init__(self, engine, holder: str | None = None, *, now=wall_clock):
        self.engine = engine
        self.holder = holder or holder_name()
        self.now = now
        self.connection: sa.Connection | None = None
        self.held = False
        self.lease = LeaseLock(self.holder, now=now)

    def acquire(self) -> bool:
        """Take the advisory lock, or check that its connection still holds it."""
        try:
            if self.connection is None:
                self.connection = self.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            if self.held:
                self.connection.exec_driver_sql("SELECT 1")  # still connected: still held
            else:
                self.held = bool(
                    self.connection.execute(
                        sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
                    ).scalar()
                )
        except sa.exc.DBAPIError as exc:
            log.warning("scheduler lock connection lost: %s", exc)
            self._drop_connection()
            return False
        if self.held:
            self._show_heartbeat()
        return self.held

    def _show_heartbeat(self) -> None:
        now = self.now()
        try:
            row = db.session.get(SchedulerLock, LOCK_NAME)
            if row is None:
                db.session.add(
                    SchedulerLock(
                        name=LOCK_NAME, holder=self.holder, acquired_at=now, heartbeat_at=now
                    )
                )
            else:
                if row.holder != self.holder:
                    row.holder, row.acquired_at = self.holder, now
                row.heartbeat_at = now
            db.session.commit()
        except (IntegrityError, OperationalError):
            db.session.rollback()

    def _drop_connection(self) -> None:
        self.held = False
        if self.connection is not None:
            try:
                self.connection.invalidate()
                self.connection.close()
            except Exception:  # already broken; nothing to clean up
                log.debug("closing the lock connection failed", exc_info=True)
            self.connection = None

    def release(self) -> None:
        """Unlock, close the lock's connection and delete the lease row."""
        if self.connection is not None and self.held:
            with contextlib.suppress(sa.exc.DBAPIError):
                self.connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                )
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        self.held = False
        self.lease.held = True
        self.lease.release()


def lock_for_database(holder: str | None = None):
    """The right lock for the application database."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, holder)
    return LeaseLock(holder)


def current_holder() -> SchedulerLock | None:
    """The lease row: who holds the scheduler lock and when it was last heard from."""
    return db.session.get(SchedulerLock, LOCK_NAME)
