"""Job runs, their attempts and the scheduler lock (SPEC §2)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmphase import clock
from crmphase.database import UTCDateTime, enum_check
from crmphase.extensions import Model

RUN_OUTCOMES = ("running", "succeeded", "failed")


class JobRun(Model):
    """One job for one period. Unique, so a period is never recorded twice."""

    __tablename__ = "job_runs"
    __table_args__ = (
        sa.UniqueConstraint("job_name", "period"),
        enum_check("outcome", RUN_OUTCOMES, "outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_name: Mapped[str] = mapped_column(sa.String(40))
    period: Mapped[str] = mapped_column(sa.String(10))  # YYYY-MM, or YYYY-MM-DD for daily jobs
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(sa.String(10), default="running")
    rows_written: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    attempts: Mapped[int] = mapped_column(default=1)
    trigger: Mapped[str] = mapped_column(sa.String(16), default="schedule")

    attempts_log: Mapped[list[JobAttempt]] = relationship(
        back_populates="run", order_by="JobAttempt.id"
    )

    def __repr__(self) -> str:
        return f"<JobRun {self.job_name} {self.period} {self.outcome}>"


class JobAttempt(Model):
    """Each attempt at a run, so reruns and failures stay visible."""

    __tablename__ = "job_attempts"
    __table_args__ = (enum_check("outcome", RUN_OUTCOMES, "outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_run_id: Mapped[int] = mapped_column(sa.ForeignKey("job_runs.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(sa.String(10), default="running")
    rows_written: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(sa.Text, default="")
    trigger: Mapped[str] = mapped_column(sa.String(16), default="schedule")
    triggered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    run: Mapped[JobRun] = relationship(back_populates="attempts_log")

    def __repr__(self) -> str:
        return f"<JobAttempt {self.id} of run {self.job_run_id} {self.outcome}>"


class SchedulerLock(Model):
    """The lease that makes one scheduler active and the others standbys (SQLite)."""

    __tablename__ = "scheduler_locks"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(120))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<SchedulerLock {self.name} held by {self.holder}>"
