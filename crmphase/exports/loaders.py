"""Every read of the monthly review, once per table.

Portfolio and program figures come from :mod:`crmphase.metrics.loaders` (the dashboard
reads the same functions) and project rows from the ROI snapshots, so the export, the
dashboard and the snapshots agree. Detail tables are *generators* over streamed queries
(``yield_per``): the writers consume them row by row, so a large portfolio never sits in
memory as a whole. The columns of each table are declared in :mod:`crmphase.exports.rules`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from functools import cached_property
from pathlib import Path
from typing import Any, overload

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased, selectinload

from crmphase import clock
from crmphase.auth.models import User
from crmphase.auth.roles import Role
from crmphase.database import AnyRow, AnySelect
from crmphase.errors import NotFound
from crmphase.exports.models import ExportFile
from crmphase.exports.rules import (
    ALERT_COLUMNS,
    DECISION_COLUMNS,
    KPI_COLUMNS,
    MEASUREMENT_COLUMNS,
    MONEY_COLUMNS,
    PROJECT_COLUMNS,
    REPORT_TABLES,
    TREND_MONTHS,
    CellRow,
    ProgramFigures,
    Table,
    TrendPoint,
    window_start,
)
from crmphase.extensions import db
from crmphase.metrics.loaders import (
    portfolio_totals,
    row_to_totals,
    sum_source,
    totals_by_program,
    totals_columns,
)
from crmphase.metrics.models import Alert, BenefitEntry, CostEntry, Kpi, Measurement, RoiSnapshot
from crmphase.metrics.roi import Coverage
from crmphase.metrics.rules import Totals
from crmphase.money import to_decimal
from crmphase.periods import Period
from crmphase.phases.models import GateDecision
from crmphase.programs.models import Program, Project

STREAM_BATCH = 1000


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
    def program_trends(self) -> dict[int | None, list[TrendPoint]]:
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


@overload
def local(value: datetime, tz: tzinfo | None = None) -> datetime: ...
@overload
def local(value: None, tz: tzinfo | None = None) -> None: ...
def local(value: datetime | None, tz: tzinfo | None = None) -> datetime | None:
    """An aware UTC timestamp as a naive local one (spreadsheets have no time zones), in
    ``tz`` (default: the installation's time zone; a table passes it once for all rows)."""
    if value is None:
        return None
    if tz is None:
        tz = clock.timezone()
    return value.astimezone(tz).replace(tzinfo=None, microsecond=0)


def to_period(value: object) -> Period | None:
    if not value:
        return None
    try:
        return Period.parse(str(value))
    except ValueError:
        return None


# --------------------------------------------------------------------------- the review


def trend(period: Period, months: int = TREND_MONTHS) -> list[TrendPoint]:
    """Portfolio totals for the ``months`` periods ending at ``period`` that have
    snapshots, in one query over their stored sums (the same as :func:`portfolio_totals`)."""
    return [point for points in _stored_trends(period, months, None).values() for point in points]


def program_trends(
    period: Period, months: int = TREND_MONTHS
) -> dict[int | None, list[TrendPoint]]:
    """Per-program totals for the same periods, in one query over their stored sums."""
    return _stored_trends(period, months, "program")


def _stored_trends(
    period: Period, months: int, per: str | None
) -> dict[int | None, list[TrendPoint]]:
    first = window_start(period, months)
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
    return MonthlyReview(
        period=period,
        currency=current_app.config["CRMPHASE_CURRENCY"],
        generated_at=local(clock.now()),
        timezone=str(clock.timezone()),
        portfolio=portfolio_totals(period),
        programs=[ProgramFigures(pid, name, t) for pid, name, t in totals_by_program(period)],
        trend=trend(period),
    )


# --------------------------------------------------------------------------- detail tables


def _stream(query: AnySelect) -> Iterator[AnyRow]:
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


def _count(query: AnySelect) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def _projects_query(period: Period) -> AnySelect:

    # The sheet's columns in order, Coverage % (computed) aside: see project_rows.
    return (
        sa.select(
            Program.name,
            Project.name,
            RoiSnapshot.department,
            User.name,
            RoiSnapshot.phase,
            RoiSnapshot.state,
            RoiSnapshot.budget,
            RoiSnapshot.plan_cumulative_cost,
            RoiSnapshot.actual_cumulative_cost,
            RoiSnapshot.plan_cumulative_benefit,
            RoiSnapshot.actual_cumulative_benefit,
            RoiSnapshot.plan_net_benefit,
            RoiSnapshot.actual_net_benefit,
            RoiSnapshot.plan_roi_pct,
            RoiSnapshot.actual_roi_pct,
            RoiSnapshot.plan_npv,
            RoiSnapshot.actual_npv,
            RoiSnapshot.plan_payback_period,
            RoiSnapshot.actual_payback_period,
            RoiSnapshot.kpi_attainment,
            RoiSnapshot.due_count,
            RoiSnapshot.measured_count,
            RoiSnapshot.status,
        )
        .join(Project, Project.id == RoiSnapshot.project_id)
        .join(Program, Program.id == RoiSnapshot.program_id)
        .outerjoin(User, User.id == Project.manager_id)
        .where(RoiSnapshot.period == str(period))
        .order_by(Program.name, Project.name, Project.id)
    )


def project_rows(period: Period) -> Iterator[CellRow]:
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


def kpi_details(period: Period) -> dict[int, dict[str, Any]]:
    """``{kpi_id: detail}`` from the snapshots' ``kpi_details`` of ``period``."""

    details: dict[int, dict[str, Any]] = {}
    query = sa.select(RoiSnapshot.kpi_details).where(
        RoiSnapshot.period == str(period), RoiSnapshot.kpi_details.is_not(None)
    )
    for (items,) in _stream(query):
        for item in items or ():
            if isinstance(item, dict) and item.get("kpi_id") is not None:
                try:
                    details[int(item["kpi_id"])] = item
                except (TypeError, ValueError):
                    continue
    return details


def _kpis_query(period: Period) -> AnySelect:

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


def kpi_rows(period: Period) -> Iterator[CellRow]:
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


def _measurements_query(period: Period) -> AnySelect:

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


def measurement_rows(period: Period) -> Iterator[CellRow]:
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


def _money_query(model: type[CostEntry] | type[BenefitEntry], period: Period) -> AnySelect:

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


def money_rows(model: type[CostEntry] | type[BenefitEntry], period: Period) -> Iterator[CellRow]:
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


def _decisions_query(period: Period) -> AnySelect:

    start, end = period_bounds(period)
    return (
        sa.select(
            Program.name,
            Project.name,
            GateDecision.decided_at,
            GateDecision.phase,
            GateDecision.decision,
            GateDecision.from_state,
            GateDecision.to_phase,
            GateDecision.resulting_phase,
            GateDecision.resulting_state,
            User.name,
            GateDecision.rationale,
        )
        .join(Project, Project.id == GateDecision.project_id)
        .join(Program, Program.id == Project.program_id)
        .outerjoin(User, User.id == GateDecision.decided_by_id)
        .where(GateDecision.decided_at >= start, GateDecision.decided_at < end)
        .order_by(GateDecision.decided_at, GateDecision.id)
    )


def decision_rows(period: Period) -> Iterator[CellRow]:
    """Gate decisions taken during ``period`` (in the installation's time zone)."""
    tz = clock.timezone()
    for row in _stream(_decisions_query(period)):
        values = list(row)
        values[2] = local(values[2], tz)
        yield tuple(values)


def _alerts_query(period: Period) -> AnySelect:

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


def alert_rows(period: Period) -> Iterator[CellRow]:
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


def review_steps(period: Period, fmt: str) -> int:
    """How many progress steps a build takes: one for the summary, one per row."""
    tables = detail_tables(period)
    if fmt == "html":
        tables = [t for t in tables if t.slug in REPORT_TABLES]
    return 1 + sum(table.count() for table in tables)


# --------------------------------------------------------------------------- who gets it


def review_recipients() -> list[User]:
    """Every program's steering members, and the CRMOs; each person once."""
    people: dict[int, User] = {}
    for program in db.session.scalars(
        sa.select(Program).options(
            selectinload(Program.steering_members), selectinload(Program.crmo)
        )
    ):
        for user in [*program.steering_members, program.crmo]:
            if user is not None and user.active:
                people.setdefault(user.id, user)
    for user in db.session.scalars(
        sa.select(User).where(User.role == Role.CRMO.value, User.active)
    ):
        people.setdefault(user.id, user)
    return sorted(people.values(), key=lambda u: u.id)


# --------------------------------------------------------------------------- kept exports


def export_dir() -> Path:
    """The folder the kept exports live in (``CRMPHASE_EXPORT_DIR``)."""
    return Path(current_app.config["CRMPHASE_EXPORT_DIR"])


def stored_path(row: ExportFile) -> Path | None:
    """Where a stored export lives, or None when the file is gone. Only names recorded
    by :func:`~crmphase.exports.services.store_monthly_review`, inside the export folder,
    are ever served."""
    folder = export_dir().resolve()
    path = (folder / row.filename).resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


def get_export(export_id: int) -> ExportFile:
    """The kept export ``export_id``; :class:`NotFound` when there is none."""
    row = db.session.get(ExportFile, export_id)
    if row is None:
        raise NotFound(f"there is no export {export_id}")
    return row


def builder_names(rows: list[ExportFile]) -> dict[int, str]:
    """``{user id: name}`` of the people who built ``rows``, in one statement."""
    ids = {row.created_by_id for row in rows if row.created_by_id}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(ids))).all())


def export_query(period: str | None = None) -> sa.Select[ExportFile]:
    """Stored exports, newest period first."""
    query = sa.select(ExportFile).order_by(
        ExportFile.period.desc(), ExportFile.format, ExportFile.id
    )
    if period:
        query = query.where(ExportFile.period == period)
    return query
