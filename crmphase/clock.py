"""The one clock of the application (SPEC §5).

Every "now" and "today" comes from here. ``CRMPHASE_NOW`` (ISO date-time) fixes the clock
for a whole process; tests may also use :func:`frozen`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from crmphase import config
from crmphase.periods import Period

_override: datetime | None = None


class ClockError(ValueError):
    """CRMPHASE_NOW holds something that is not an ISO date-time."""


def _parse(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ClockError(f"CRMPHASE_NOW={text!r} is not an ISO date-time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    if _override is not None:
        return _override
    fixed = config.fixed_now()
    if fixed:
        return _parse(fixed)
    return datetime.now(UTC)


def timezone() -> ZoneInfo:
    """The installation's timezone (``CRMPHASE_TIMEZONE``, default UTC)."""
    return ZoneInfo(config.timezone_name())


def today() -> date:
    """Today's date in the installation's timezone."""
    return now().astimezone(timezone()).date()


def current_period() -> Period:
    return Period.of(today())


def last_complete_period() -> Period:
    """The month just ended: the default period of dashboards and reviews."""
    return current_period().previous()


@contextmanager
def frozen(at: datetime | str) -> Iterator[datetime]:
    """Fix the clock inside a ``with`` block (tests)."""
    global _override
    previous = _override
    _override = _parse(at) if isinstance(at, str) else at.astimezone(UTC)
    try:
        yield _override
    finally:
        _override = previous
