"""What the monthly review holds, as pure data: its tables' columns, its summary rows.

Pure: no Flask, no database. :mod:`crmphase.exports.loaders` reads the figures and rows;
the writers (:mod:`~crmphase.exports.xlsx`, :mod:`~crmphase.exports.csv_zip`,
:mod:`~crmphase.exports.html`) lay them out by the columns declared here.

Values in rows are plain Python: ``str``, ``int``, ``Decimal`` (money, numbers, and
percentages in percentage points: 12.5 means 12.5 %), ``date``, naive ``datetime`` in the
installation's time zone, :class:`Period`, ``bool`` or ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypeAlias

from crmphase.periods import Period

if TYPE_CHECKING:
    from crmphase.metrics.rules import Totals

TREND_MONTHS = 12

# A value of a table's cell (see the module's docstring), and a row of them.
CellValue: TypeAlias = str | int | Decimal | date | datetime | Period | bool | None
CellRow: TypeAlias = tuple[CellValue, ...]

# The detail tables the printable report shows (the workbook and the CSV files show all).
REPORT_TABLES = ("projects", "kpis", "gate_decisions", "alerts")

TEXT, INT, MONEY, PCT, NUMBER, DATE, DATETIME, PERIOD, BOOL = (
    "text",
    "int",
    "money",
    "pct",
    "number",
    "date",
    "datetime",
    "period",
    "bool",
)

_DEFAULT_WIDTHS = {
    TEXT: 18,
    INT: 10,
    MONEY: 16,
    PCT: 11,
    NUMBER: 14,
    DATE: 12,
    DATETIME: 17,
    PERIOD: 10,
    BOOL: 9,
}


@dataclass(frozen=True)
class Column:
    """A column of a table: its header, the kind of value, and a width in characters."""

    header: str
    kind: str = TEXT
    width: int | None = None

    @property
    def display_width(self) -> int:
        return max(self.width or _DEFAULT_WIDTHS[self.kind], min(len(self.header) + 2, 40))


@dataclass(frozen=True)
class Table:
    """One sheet of the workbook (one CSV file): columns and a way to stream its rows."""

    title: str
    slug: str
    columns: tuple[Column, ...]
    rows: Callable[[], Iterator[CellRow]]
    count: Callable[[], int]


@dataclass(frozen=True)
class TrendPoint:
    period: Period
    totals: Totals


@dataclass(frozen=True)
class ProgramFigures:
    program_id: int
    name: str
    totals: Totals


def window_start(period: Period, months: int) -> Period:
    """The first period of the ``months`` ending at ``period`` (never before 1900-01)."""
    return Period.from_index(max(period.index - (months - 1), Period(1900, 1).index))


# --------------------------------------------------------------------------- summary rows

SUMMARY_COLUMNS = (
    Column("Scope", TEXT, 30),
    Column("Projects", INT),
    Column("Measured projects", INT),
    Column("Due KPI-periods", INT),
    Column("Measured KPI-periods", INT),
    Column("Coverage %", PCT),
    Column("Actual cumulative cost", MONEY),
    Column("Actual cumulative benefit", MONEY),
    Column("Actual net benefit", MONEY),
    Column("Actual ROI %", PCT),
    Column("Actual NPV", MONEY),
    Column("Plan cumulative cost", MONEY),
    Column("Plan cumulative benefit", MONEY),
    Column("Plan net benefit", MONEY),
    Column("Plan ROI %", PCT),
    Column("Plan NPV", MONEY),
)

TREND_COLUMNS = (
    Column("Period", PERIOD),
    Column("Actual ROI %", PCT),
    Column("Plan ROI %", PCT),
    Column("Actual cumulative cost", MONEY),
    Column("Actual cumulative benefit", MONEY),
    Column("Coverage %", PCT),
)

PORTFOLIO_SCOPE = "Portfolio (all programs)"


def totals_row(scope: str, totals: Totals) -> CellRow:
    """One row of the summary table: ``scope`` and its figures."""
    return (
        scope,
        totals.projects,
        totals.measured_projects,
        totals.coverage.due,
        totals.coverage.measured,
        totals.coverage.percent,
        totals.actual.cumulative_cost,
        totals.actual.cumulative_benefit,
        totals.actual.net_benefit,
        totals.actual.roi_pct,
        totals.actual.npv,
        totals.plan.cumulative_cost,
        totals.plan.cumulative_benefit,
        totals.plan.net_benefit,
        totals.plan.roi_pct,
        totals.plan.npv,
    )


def summary_rows(portfolio: Totals, programs: Iterable[ProgramFigures]) -> list[CellRow]:
    """The portfolio headline first, then one row per program."""
    return [
        totals_row(PORTFOLIO_SCOPE, portfolio),
        *(totals_row(p.name, p.totals) for p in programs),
    ]


def trend_rows(points: list[TrendPoint]) -> list[CellRow]:
    """The rows of the trend table, one per period."""
    return [
        (
            p.period,
            p.totals.actual.roi_pct,
            p.totals.plan.roi_pct,
            p.totals.actual.cumulative_cost,
            p.totals.actual.cumulative_benefit,
            p.totals.coverage.percent,
        )
        for p in points
    ]


# --------------------------------------------------------------------------- detail tables

PROJECT_COLUMNS = (
    Column("Program", TEXT, 24),
    Column("Project", TEXT, 30),
    Column("Department", TEXT, 12),
    Column("Manager", TEXT, 18),
    Column("Phase", TEXT, 11),
    Column("State", TEXT, 10),
    Column("Budget", MONEY),
    Column("Plan cumulative cost", MONEY),
    Column("Actual cumulative cost", MONEY),
    Column("Plan cumulative benefit", MONEY),
    Column("Actual cumulative benefit", MONEY),
    Column("Plan net benefit", MONEY),
    Column("Actual net benefit", MONEY),
    Column("Plan ROI %", PCT),
    Column("Actual ROI %", PCT),
    Column("Plan NPV", MONEY),
    Column("Actual NPV", MONEY),
    Column("Plan payback", PERIOD),
    Column("Actual payback", PERIOD),
    Column("KPI attainment %", PCT),
    Column("Due KPI-periods", INT),
    Column("Measured KPI-periods", INT),
    Column("Coverage %", PCT),
    Column("Status", TEXT, 10),
)

KPI_COLUMNS = (
    Column("Program", TEXT, 24),
    Column("Project", TEXT, 30),
    Column("KPI", TEXT, 28),
    Column("Unit", TEXT, 8),
    Column("Direction", TEXT, 9),
    Column("Cadence", TEXT, 10),
    Column("Baseline", NUMBER),
    Column("Baseline period", PERIOD),
    Column("Target", NUMBER),
    Column("Target period", PERIOD),
    Column("Latest", NUMBER),
    Column("Expected %", PCT),
    Column("Attainment %", PCT),
    Column("Status", TEXT, 10),
    Column("Owner", TEXT, 18),
)

MEASUREMENT_COLUMNS = (
    Column("Program", TEXT, 24),
    Column("Project", TEXT, 30),
    Column("KPI", TEXT, 28),
    Column("Unit", TEXT, 8),
    Column("Period", PERIOD),
    Column("Value", NUMBER),
    Column("Source", TEXT, 8),
    Column("Note", TEXT, 30),
    Column("Recorded by", TEXT, 18),
    Column("Recorded at", DATETIME),
)

MONEY_COLUMNS = (
    Column("Program", TEXT, 24),
    Column("Project", TEXT, 30),
    Column("Period", PERIOD),
    Column("Kind", TEXT, 8),
    Column("Category", TEXT, 12),
    Column("Amount", MONEY),
    Column("Note", TEXT, 30),
    Column("Recorded by", TEXT, 18),
    Column("Recorded at", DATETIME),
)

DECISION_COLUMNS = (
    Column("Program", TEXT, 24),
    Column("Project", TEXT, 30),
    Column("Decided at", DATETIME),
    Column("Gate", TEXT, 11),
    Column("Decision", TEXT, 9),
    Column("From state", TEXT, 10),
    Column("To phase", TEXT, 11),
    Column("Resulting phase", TEXT, 11),
    Column("Resulting state", TEXT, 10),
    Column("Decided by", TEXT, 18),
    Column("Rationale", TEXT, 40),
)

ALERT_COLUMNS = (
    Column("Program", TEXT, 24),
    Column("Project", TEXT, 30),
    Column("Kind", TEXT, 20),
    Column("Alert period", PERIOD),
    Column("KPI", TEXT, 24),
    Column("Detail", TEXT, 40),
    Column("Opened at", DATETIME),
    Column("Resolved at", DATETIME),
)
