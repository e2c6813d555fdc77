"""Calendar-month periods written ``YYYY-MM`` (SPEC §2).

Pure: no Flask, no database. Everything that parses or steps through periods uses this.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

_PERIOD_RE = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits only: \d accepts "٢٠٢٦"


class PeriodError(ValueError):
    """A text that is not a valid ``YYYY-MM`` period."""


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """One calendar month. Ordered, hashable, and printed as ``YYYY-MM``."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise PeriodError(f"month must be 01 to 12, got {self.month:02d}")
        if not 1900 <= self.year <= 9999:
            raise PeriodError(f"year must be 1900 to 9999, got {self.year}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``YYYY-MM``; raise :class:`PeriodError` with a readable reason."""
        if not isinstance(text, str):
            raise PeriodError("a period is a text written YYYY-MM")
        if cls is Period:  # bulk loaders parse the same few hundred texts many times
            return _parse_period(text)
        return cls._parse_text(text)

    @classmethod
    def _parse_text(cls, text: str) -> Period:
        match = _PERIOD_RE.fullmatch(text.strip())
        if not match:
            raise PeriodError(f"'{text}' is not a period; write YYYY-MM, e.g. 2026-03")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Period:
        """The period that contains ``day``."""
        return cls(day.year, day.month)

    @property
    def index(self) -> int:
        """Months since year 0, so that differences are month counts."""
        return self.year * 12 + (self.month - 1)

    @classmethod
    def from_index(cls, index: int) -> Period:
        return cls(index // 12, index % 12 + 1)

    def shift(self, months: int) -> Period:
        """The period ``months`` later (earlier when negative)."""
        return Period.from_index(self.index + months)

    def next(self) -> Period:
        return self.shift(1)

    def previous(self) -> Period:
        return self.shift(-1)

    def months_since(self, other: Period) -> int:
        """``self - other`` in months (negative when ``self`` is earlier)."""
        return self.index - other.index

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        # From the month's length, not the next month: 9999-12 has no next month.
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def is_quarter_end(self) -> bool:
        return self.month in (3, 6, 9, 12)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@lru_cache(maxsize=8192)
def _parse_period(text: str) -> Period:
    return Period._parse_text(text)


def period_range(first: Period, last: Period) -> list[Period]:
    """Every period from ``first`` to ``last`` inclusive (empty when last < first)."""
    return [Period.from_index(i) for i in range(first.index, last.index + 1)]
