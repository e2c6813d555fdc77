"""What a job is: its declaration (stable id, schedule, function) and what a run gets.

Each domain declares its periodic jobs with these in its own ``tasks.py``; the job table in
:mod:`crmphase.jobs.registry` gathers them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from crmphase import clock
from crmphase.errors import FieldError, ValidationFailed
from crmphase.periods import Period, PeriodError

MONTHLY = "monthly"
DAILY = "daily"
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class JobContext:
    """What a job function gets: the period it runs for, and who or what started it."""

    name: str
    period: Period | None  # monthly jobs
    day: date | None  # daily jobs
    key: str  # the run's period as stored: YYYY-MM or YYYY-MM-DD
    trigger: str  # schedule | catch_up | retry | manual | api | cli
    actor: Any = None  # the user of a manual run, else None (the system)
    rerun: bool = False  # the period had succeeded before: rows are recomputed
    run_id: int | None = None
    attempt: int = 1

    @property
    def today(self) -> date:
        """The day the job judges "today" by: the run's day, or the clock's for months."""
        return self.day if self.day is not None else clock.today()


@dataclass(frozen=True)
class JobDefinition:
    """One job. ``cron`` holds APScheduler ``CronTrigger`` fields in the installation's
    timezone; ``cadence`` says whether a run is for a month or a day."""

    name: str
    title: str
    description: str
    cadence: str  # MONTHLY | DAILY
    cron: dict[str, int | str]
    function: Callable[[JobContext], int]
    requires: tuple[str, ...] = ()  # jobs that must have succeeded for the same period
    catch_up_periods: int = 1  # how many missed periods a restarted scheduler back-fills
    schedule_text: str = ""
    extra: dict = field(default_factory=dict)
    # A queue to drain rather than a period to compute: the scheduler calls ``function``
    # on every tick (as it delivers mail) instead of recording a run per period; manual
    # runs (CLI, API, job page) still record a run for the day.
    every_tick: bool = False

    # --- periods -------------------------------------------------------------------------

    def parse_period(self, text: str | None) -> str:
        """Validate a period given by a person; return its stored key (422 on a bad one)."""
        text = (text or "").strip()
        if self.cadence == MONTHLY:
            if not text:
                return str(clock.last_complete_period())
            try:
                period = Period.parse(text)
            except PeriodError as exc:
                raise ValidationFailed.one("period", str(exc)) from None
            last = clock.last_complete_period()
            if period > last:
                raise ValidationFailed(
                    [
                        FieldError(
                            "period",
                            f"{period} has not ended yet; {self.name} runs for a month that is "
                            f"over (the latest is {last})",
                        )
                    ]
                )
            return str(period)
        if not text:
            return clock.today().isoformat()
        if not _DAY_RE.match(text):
            raise ValidationFailed.one(
                "period", f"{self.name} runs daily: give a day written YYYY-MM-DD, e.g. 2026-03-14"
            )
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ValidationFailed.one("period", f"'{text}' is not a day of the calendar") from None
        if day > clock.today():
            raise ValidationFailed.one(
                "period", f"{day} is in the future; the check runs for today or an earlier day"
            )
        return day.isoformat()

    def context(self, key: str, **kwargs) -> JobContext:
        """What the job function gets for the period ``key`` (``kwargs``: the run's facts)."""
        if self.cadence == MONTHLY:
            return JobContext(self.name, Period.parse(key), None, key, **kwargs)
        return JobContext(self.name, None, date.fromisoformat(key), key, **kwargs)

    # --- schedule --------------------------------------------------------------------------

    def trigger(self, tz) -> CronTrigger:
        """The job's schedule as an APScheduler cron trigger in the timezone ``tz``."""
        return CronTrigger(timezone=tz, **self.cron)

    def fire_time(self, key: str, tz) -> datetime:
        """When the schedule runs the job for the period ``key``: for a monthly job the
        first fire time in the month after the period, for a daily job the one on the day."""
        if self.cadence == MONTHLY:
            start = Period.parse(key).next().first_day
        else:
            start = date.fromisoformat(key)
        window = datetime.combine(start, time.min, tzinfo=tz)
        return self.trigger(tz).get_next_fire_time(None, window)

    def latest_due(self, now: datetime, tz) -> str | None:
        """The newest period whose scheduled time has come at ``now``."""
        local = now.astimezone(tz).date()
        if self.cadence == MONTHLY:
            current = Period.of(local)
            candidates = [str(current.previous()), str(current.shift(-2))]
        else:
            candidates = [local.isoformat(), (local - timedelta(days=1)).isoformat()]
        for key in candidates:
            if self.fire_time(key, tz) <= now:
                return key
        return None

    def due_keys(self, now: datetime, tz, earliest: Period | None) -> list[str]:
        """Every period the schedule should have run by ``now``, oldest first: the latest
        one and up to ``catch_up_periods - 1`` before it (not before ``earliest``)."""
        latest = self.latest_due(now, tz)
        if latest is None:
            return []
        if self.cadence == DAILY:
            return [latest]
        last = Period.parse(latest)
        first = last.shift(-(self.catch_up_periods - 1))
        if earliest is not None:
            first = max(first, earliest)
        return [str(Period.from_index(i)) for i in range(first.index, last.index + 1)]
