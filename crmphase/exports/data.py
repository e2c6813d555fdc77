"""What the monthly review holds, read from the database once per table.

Portfolio and program figures come from :mod:`crmphase.metrics.loaders` (the dashboard
reads the same functions) and project rows from the ROI snapshots, so the export, the
dashboard and the snapshots agree. Detail tables are *generators* over streamed queries
(``yield_per``): the writers consume them row by row, so a large portfolio never sits in
memory as a whole.

Values in rows are plain Python: ``str``, ``int``, ``Decimal`` (money, numbers, and
percentages in percentage points: 12.5 means 12.5 %), ``date``, naive ``datetime`` in the
installation's time zone, :class:`Period`, ``bool`` or ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from crmphase import clock
from crmphase.extensions import db
from crmphase.metrics.loaders import (
    portfolio_totals,
    row_to_totals,
    sum_source,
    totals_by_program,
    totals_columns,
)
from crmphase.metrics.roi import Coverage
from crmphase.metrics.rules import Totals
from crmphase.money import to_decimal
from crmphase.periods import Period

TREND_MONTHS = 12
STREAM_BATCH = 1000

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


@dataclass(frozen=True)
class Column:
    """A column of a table: its header, the kind of value, and a width in characters."""

    header: str
    kind: str = TEXT
    width: int | None = None

    @property
    def display_width(self) -> int:
        default = {
            TEXT: 18,
            INT: 10,
            MONEY: 16,
            PCT: 11,
            NUMBER: 14,
            DATE: 12,
            DATETIME: 17,
            PERIOD: 10,
            BOOL: 9,
        }[self.kind]
        return max(self.width or default, min(len(self.header) + 2, 40))


@dataclass(frozen=True)
class Table:
    """One sheet of the workbook (one CSV file): columns and a way to stream its rows."""

    title: str
    slug: str
    columns: tuple[Column, ...]
    rows: Callable[[], Iterator[tuple]]
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


@dataclass
class MonthlyReview:
    """The figures and tables of the monthly ROI review for one period."""

    period: Period
    currency: str
    generated_at: datetime
    timezone: str
    portfolio: Totals
    programs: list[ProgramFigures]
    trend: list[TrendPoint]

    @cached_property
    def program_trends(self) -> dict[int, list[TrendPoint]]:
        """Each program's trend: read when a writer asks (the HTML report draws them; the
        workbook and the CSV files do not)."""
        return program_trends(self.period)

    @property
    def tables(self) -> list[Table]:
        """Every detail table, in workbook order (the Summary sheet is built separately)."""
        return detail_tables(self.period)


# --------------------------------------------------------------------------- time windows


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    """The UTC instants where ``period`` starts and the next one starts (exclusive end),
    in the installation's time zone."""
    tz = clock.timezone()
    start = datetime.combine(period.first_day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(period.next().first_day, time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def local(value: datetime | None, tz: tzinfo | None = None) -> datetime | None:
    """An aware UTC timestamp as a naive local one (spreadsheets have no time zones), in
    ``tz`` (default: the installation's time zone; a table passes it once for all rows)."""
    if value is None:
        return None
    if tz is None:
        tz = clock.timezone()
    return value.astimezone(tz).replace(tzinfo=None, microsecond=0)


def to_period(value) -> Period | None:
    if not value:
        return None
    try:
        return Period.parse(str(value))
    except ValueError:
        return None


# --------------------------------------------------------------------------- the review


def _window_start(period: Period, months: int) -> Period:
    """The first period of the ``months`` ending at ``period`` (never before 1900-01)."""
    return Period.from_index(max(period.index - (months - 1), Period(1900, 1).index))


def trend(period: Period, months: int = TREND_MONTHS) -> list[TrendPoint]:
    """Portfolio totals for the ``months`` periods ending at ``period`` that have
    snapshots, in one query over their stored sums (the same as :func:`portfolio_totals`)."""
    return [point for points in _stored_trends(period, months, None).values() for point in points]


def program_trends(period: Period, months: int = TREND_MONTHS) -> dict[int, list[TrendPoint]]:
    """Per-program totals for the same periods, in one query over their stored sums."""
    return _stored_trends(period, months, "program")


def _stored_trends(
    period: Period, months: int, per: str | None
) -> dict[int | None, list[TrendPoint]]:
    first = _window_start(period, months)
    source = sum_source(per_program=per == "program")
    query = source.where(
        sa.select(source.program_id, source.period, *totals_columns(source))
        .where(source.period >= str(first), source.period <= str(period))
        .group_by(source.program_id, source.period)
        .order_by(source.program_id, source.period)
    )
    result: dict[int | None, list[TrendPoint]] = {}
    for row in db.session.execute(query):
        at = Period.parse(row.period)
        result.setdefault(row.program_id, []).append(TrendPoint(at, row_to_totals(at, row)))
    return result


def monthly_review(period: Period) -> MonthlyReview:
    """The headline figures of ``period``; detail tables stream when a writer asks."""
    from flask import current_app

    return MonthlyReview(
        period=period,
        currency=current_app.config["CRMPHASE_CURRENCY"],
        generated_at=local(clock.now()),
        timezone=str(clock.timezone()),
        portfolio=portfolio_totals(period),
        programs=[ProgramFigures(pid, name, t) for pid, name, t in totals_by_program(period)],
        trend=trend(period),
    )


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


def totals_row(scope: str, totals: Totals) -> tuple:
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


PORTFOLIO_SCOPE = "Portfolio (all programs)"


def summary_rows(review: MonthlyReview) -> list[tuple]:
    """The portfolio headline first, then one row per program."""
    return [
        totals_row(PORTFOLIO_SCOPE, review.portfolio),
        *(totals_row(p.name, p.totals) for p in review.programs),
    ]


def trend_rows(points: list[TrendPoint]) -> list[tuple]:
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


def _stream(query) -> Iterator:
    """Rows a batch at a time (a server-side cursor on PostgreSQL), closed even when the
    reader stops early. The tables select columns, never mapped objects, so the rows come
    through Core on the session's connection (same transaction, no ORM loading)."""
    connection = db.session.connection()
    result = connection.execute(query.execution_options(yield_per=STREAM_BATCH))
    try:
        for batch in result.partitions():
            yield from batch
    finally:
        result.close()


def _count(query) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


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


def _projects_query(period: Period):
    from crmphase.auth.models import User
    from crmphase.metrics.models import RoiSnapshot as S
    from crmphase.programs.models import Program, Project

    # The sheet's columns in order, Coverage % (computed) aside: see project_rows.
    return (
        sa.select(
            Program.name,
            Project.name,
            S.department,
            User.name,
            S.phase,
            S.state,
            S.budget,
            S.plan_cumulative_cost,
            S.actual_cumulative_cost,
            S.plan_cumulative_benefit,
            S.actual_cumulative_benefit,
            S.plan_net_benefit,
            S.actual_net_benefit,
            S.plan_roi_pct,
            S.actual_roi_pct,
            S.plan_npv,
            S.actual_npv,
            S.plan_payback_period,
            S.actual_payback_period,
            S.kpi_attainment,
            S.due_count,
            S.measured_count,
            S.status,
        )
        .join(Project, Project.id == S.project_id)
        .join(Program, Program.id == S.program_id)
        .outerjoin(User, User.id == Project.manager_id)
        .where(S.period == str(period))
        .order_by(Program.name, Project.name, Project.id)
    )


def project_rows(period: Period) -> Iterator[tuple]:
    """One row per ROI snapshot of ``period``, figure by figure as the snapshot has it."""
    for row in _stream(_projects_query(period)):
        *head, plan_payback, actual_payback, attainment, due, measured, status = row
        coverage = Coverage(measured=min(measured, due), due=due)
        yield (
            *head,
            to_period(plan_payback),
            to_period(actual_payback),
            attainment,
            due,
            measured,
            coverage.percent,
            status,
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


def kpi_details(period: Period) -> dict[int, dict]:
    """``{kpi_id: detail}`` from the snapshots' ``kpi_details`` of ``period``."""
    from crmphase.metrics.models import RoiSnapshot as S

    details: dict[int, dict] = {}
    query = sa.select(S.kpi_details).where(S.period == str(period), S.kpi_details.is_not(None))
    for (items,) in _stream(query):
        for item in items or ():
            if isinstance(item, dict) and item.get("kpi_id") is not None:
                try:
                    details[int(item["kpi_id"])] = item
                except (TypeError, ValueError):
                    continue
    return details


def _kpis_query(period: Period):
    from crmphase.auth.models import User
    from crmphase.metrics.models import Kpi, RoiSnapshot
    from crmphase.programs.models import Program, Project

    in_review = sa.select(RoiSnapshot.project_id).where(RoiSnapshot.period == str(period))
    return (
        sa.select(
            Kpi.id,
            Program.name,
            Project.name,
            Kpi.name,
            Kpi.unit,
            Kpi.direction,
            Kpi.cadence,
            Kpi.baseline_value,
            Kpi.baseline_period,
            Kpi.target_value,
            Kpi.target_period,
            User.name,
        )
        .join(Project, Project.id == Kpi.project_id)
        .join(Program, Program.id == Project.program_id)
        .outerjoin(User, User.id == Kpi.owner_id)
        .where(Kpi.project_id.in_(in_review))
        .order_by(Program.name, Project.name, Kpi.name)
    )


def kpi_rows(period: Period) -> Iterator[tuple]:
    """The KPIs of the projects in the review, with latest value, expected progress,
    attainment and status as the snapshot of ``period`` computed them."""
    details = kpi_details(period)
    for (
        kpi_id,
        program,
        project,
        name,
        unit,
        direction,
        cadence,
        baseline,
        baseline_period,
        target,
        target_period,
        owner,
    ) in _stream(_kpis_query(period)):
        detail = details.get(kpi_id, {})
        yield (
            program,
            project,
            name,
            unit,
            direction,
            cadence,
            baseline,
            to_period(baseline_period),
            target,
            to_period(target_period),
            to_decimal(detail.get("latest")),
            to_decimal(detail.get("expected")),
            to_decimal(detail.get("attainment")),
            str(detail.get("status") or "no_data"),
            owner,
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


def _measurements_query(period: Period):
    from crmphase.auth.models import User
    from crmphase.metrics.models import Kpi, Measurement
    from crmphase.programs.models import Program, Project

    return (
        sa.select(
            Program.name,
            Project.name,
            Kpi.name,
            Kpi.unit,
            Measurement.period,
            Measurement.value,
            Measurement.source,
            Measurement.note,
            User.name,
            Measurement.recorded_at,
        )
        .join(Kpi, Kpi.id == Measurement.kpi_id)
        .join(Project, Project.id == Kpi.project_id)
        .join(Program, Program.id == Project.program_id)
        .outerjoin(User, User.id == Measurement.recorded_by_id)
        .where(Measurement.period == str(period))
        .order_by(Program.name, Project.name, Kpi.name, Measurement.id)
    )


def measurement_rows(period: Period) -> Iterator[tuple]:
    tz = clock.timezone()
    for program, project, kpi, unit, at, value, source, note, by, recorded_at in _stream(
        _measurements_query(period)
    ):
        yield (
            program,
            project,
            kpi,
            unit,
            Period.parse(at),
            value,
            source,
            note,
            by,
            local(recorded_at, tz),
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


def _money_query(model, period: Period):
    from crmphase.auth.models import User
    from crmphase.programs.models import Program, Project

    return (
        sa.select(
            Program.name,
            Project.name,
            model.period,
            model.kind,
            model.category,
            model.amount,
            model.note,
            User.name,
            model.recorded_at,
        )
        .join(Project, Project.id == model.project_id)
        .join(Program, Program.id == Project.program_id)
        .outerjoin(User, User.id == model.recorded_by_id)
        .where(model.period == str(period))
        .order_by(Program.name, Project.name, model.kind, model.id)
    )


def money_rows(model, period: Period) -> Iterator[tuple]:
    tz = clock.timezone()
    for program, project, at, kind, category, amount, note, by, recorded_at in _stream(
        _money_query(model, period)
    ):
        yield (
            program,
            project,
            Period.parse(at),
            kind,
            category,
            amount,
            note,
            by,
            local(recorded_at, tz),
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


def _decisions_query(period: Period):
    from crmphase.auth.models import User
    from crmphase.phases.models import GateDecision as D
    from crmphase.programs.models import Program, Project

    start, end = period_bounds(period)
    return (
        sa.select(
            Program.name,
            Project.name,
            D.decided_at,
            D.phase,
            D.decision,
            D.from_state,
            D.to_phase,
            D.resulting_phase,
            D.resulting_state,
            User.name,
            D.rationale,
        )
        .join(Project, Project.id == D.project_id)
        .join(Program, Program.id == Project.program_id)
        .outerjoin(User, User.id == D.decided_by_id)
        .where(D.decided_at >= start, D.decided_at < end)
        .order_by(D.decided_at, D.id)
    )


def decision_rows(period: Period) -> Iterator[tuple]:
    """Gate decisions taken during ``period`` (in the installation's time zone)."""
    tz = clock.timezone()
    for row in _stream(_decisions_query(period)):
        values = list(row)
        values[2] = local(values[2], tz)
        yield tuple(values)


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


def _alerts_query(period: Period):
    from crmphase.metrics.models import Alert, Kpi
    from crmphase.programs.models import Program, Project

    _, end = period_bounds(period)
    kpi = aliased(Kpi)
    return (
        sa.select(
            Program.name,
            Project.name,
            Alert.kind,
            Alert.period,
            kpi.name,
            Alert.detail,
            Alert.opened_at,
            Alert.resolved_at,
        )
        .join(Project, Project.id == Alert.project_id)
        .join(Program, Program.id == Project.program_id)
        .outerjoin(kpi, kpi.id == Alert.kpi_id)
        .where(
            Alert.opened_at < end,
            sa.or_(Alert.resolved_at.is_(None), Alert.resolved_at >= end),
        )
        .order_by(Program.name, Project.name, Alert.kind, Alert.period, Alert.id)
    )


def alert_rows(period: Period) -> Iterator[tuple]:
    """Alerts open when ``period`` ended (opened by then and not resolved by then).
    "Resolved at" shows a resolution after the period's end, when there is one."""
    tz = clock.timezone()
    for program, project, kind, at, kpi, detail, opened, resolved in _stream(_alerts_query(period)):
        yield (
            program,
            project,
            kind,
            to_period(at),
            kpi,
            detail,
            local(opened, tz),
            local(resolved, tz),
        )


def detail_tables(period: Period) -> list[Table]:
    from crmphase.metrics.models import BenefitEntry, CostEntry

    return [
        Table(
            "Projects",
            "projects",
            PROJECT_COLUMNS,
            lambda: project_rows(period),
            lambda: _count(_projects_query(period)),
        ),
        Table(
            "KPIs",
            "kpis",
            KPI_COLUMNS,
            lambda: kpi_rows(period),
            lambda: _count(_kpis_query(period)),
        ),
        Table(
            "Measurements",
            "measurements",
            MEASUREMENT_COLUMNS,
            lambda: measurement_rows(period),
            lambda: _count(_measurements_query(period)),
        ),
        Table(
            "Costs",
            "costs",
            MONEY_COLUMNS,
            lambda: money_rows(CostEntry, period),
            lambda: _count(_money_query(CostEntry, period)),
        ),
        Table(
            "Benefits",
            "benefits",
            MONEY_COLUMNS,
            lambda: money_rows(BenefitEntry, period),
            lambda: _count(_money_query(BenefitEntry, period)),
        ),
        Table(
            "Gate decisions",
            "gate_decisions",
            DECISION_COLUMNS,
            lambda: decision_rows(period),
            lambda: _count(_decisions_query(period)),
        ),
        Table(
            "Alerts",
            "alerts",
            ALERT_COLUMNS,
            lambda: alert_rows(period),
            lambda: _count(_alerts_query(period)),
        ),
    ]
