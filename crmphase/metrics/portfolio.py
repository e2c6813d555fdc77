"""Portfolio figures for a period, aggregated in SQL from the ROI snapshots.

The dashboard, the exports and the API all take their portfolio and per-program totals
from here, so they cannot disagree. Portfolio ROI % is computed from the summed net
benefit and cost (not an average of project ROIs); coverage from summed KPI-period counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from crmphase.metrics.roi import Coverage, roi_pct
from crmphase.money import summed_money
from crmphase.periods import Period

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class MoneyTotals:
    cumulative_cost: Decimal
    cumulative_benefit: Decimal
    net_benefit: Decimal
    npv: Decimal

    @property
    def roi_pct(self) -> Decimal | None:
        return roi_pct(self.net_benefit, self.cumulative_cost)


@dataclass(frozen=True)
class Totals:
    """Totals over a set of project snapshots for one period."""

    period: Period
    projects: int
    measured_projects: int
    actual: MoneyTotals
    plan: MoneyTotals
    coverage: Coverage


_money = summed_money


@dataclass(frozen=True)
class SumSource:
    """Where sums over a period's snapshots come from: the stored totals of one scope
    (:class:`~crmphase.metrics.models.SnapshotTotals`, one row per period, program or
    department), or the snapshots themselves when no stored scope fits the filter (one
    program's snapshots of one department). Both tables name the summed columns alike."""

    table: type
    conditions: tuple
    projects: sa.ColumnElement
    measured_projects: sa.ColumnElement

    @property
    def period(self):
        return self.table.period

    @property
    def program_id(self):
        return self.table.program_id

    def sum(self, column: str):
        return sa.func.sum(getattr(self.table, column))

    def where(self, query):
        return query.where(*self.conditions)


def sum_source(
    program_id: int | None = None, department: str | None = None, *, per_program: bool = False
) -> SumSource:
    """The cheapest source of the sums for the filter; ``per_program``: sums that will be
    grouped by program."""
    from crmphase.metrics.models import RoiSnapshot as S
    from crmphase.metrics.models import SnapshotTotals as T

    if department and (program_id or per_program):
        conditions = [S.department == department]
        if program_id:
            conditions.append(S.program_id == program_id)
        return snapshot_source(*conditions)
    if program_id or per_program:
        conditions = [T.scope == "program"]
        if program_id:
            conditions.append(T.program_id == program_id)
    elif department:
        conditions = [T.scope == "department", T.department == department]
    else:
        conditions = [T.scope == "portfolio"]
    return SumSource(
        T, tuple(conditions), sa.func.sum(T.projects), sa.func.sum(T.measured_projects)
    )


def snapshot_source(*conditions) -> SumSource:
    """Sums over the snapshots themselves (with ``conditions``)."""
    from crmphase.metrics.models import RoiSnapshot as S

    measured = sa.func.sum(sa.case((S.measured, 1), else_=0))
    return SumSource(S, conditions, sa.func.count(S.id), measured)


def totals_columns(source: SumSource | None = None):
    """The labelled sums that :func:`row_to_totals` reads (default: over snapshots)."""
    source = source or snapshot_source()
    return (
        sa.func.coalesce(source.projects, 0).label("projects"),
        sa.func.coalesce(source.measured_projects, 0).label("measured"),
        source.sum("actual_cumulative_cost").label("a_cost"),
        source.sum("actual_cumulative_benefit").label("a_benefit"),
        source.sum("actual_net_benefit").label("a_net"),
        source.sum("actual_npv").label("a_npv"),
        source.sum("plan_cumulative_cost").label("p_cost"),
        source.sum("plan_cumulative_benefit").label("p_benefit"),
        source.sum("plan_net_benefit").label("p_net"),
        source.sum("plan_npv").label("p_npv"),
        sa.func.coalesce(source.sum("due_count"), 0).label("due"),
        sa.func.coalesce(source.sum("measured_count"), 0).label("measured_kpis"),
    )


def row_to_totals(period: Period, row) -> Totals:
    """:class:`Totals` from a row with the columns of :func:`totals_columns`."""
    return Totals(
        period=period,
        projects=int(row.projects or 0),
        measured_projects=int(row.measured or 0),
        actual=MoneyTotals(
            _money(row.a_cost), _money(row.a_benefit), _money(row.a_net), _money(row.a_npv)
        ),
        plan=MoneyTotals(
            _money(row.p_cost), _money(row.p_benefit), _money(row.p_net), _money(row.p_npv)
        ),
        coverage=Coverage(measured=int(row.measured_kpis or 0), due=int(row.due or 0)),
    )


def portfolio_totals(
    period: Period, *, program_id: int | None = None, department: str | None = None
) -> Totals:
    """Totals of every snapshot of ``period`` (optionally one program or department)."""
    from crmphase.extensions import db

    source = sum_source(program_id, department)
    query = source.where(sa.select(*totals_columns(source)).where(source.period == str(period)))
    return row_to_totals(period, db.session.execute(query).one())


def totals_by_program(
    period: Period, *, program_id: int | None = None, department: str | None = None
) -> list[tuple[int, str, Totals]]:
    """``(program_id, program_name, totals)`` per program with snapshots in ``period``."""
    from crmphase.extensions import db
    from crmphase.programs.models import Program

    source = sum_source(program_id, department, per_program=True)
    query = source.where(
        sa.select(Program.id, Program.name, *totals_columns(source))
        .join(Program, Program.id == source.program_id)
        .where(source.period == str(period))
        .group_by(Program.id, Program.name)
        .order_by(Program.name)
    )
    return [(row.id, row.name, row_to_totals(period, row)) for row in db.session.execute(query)]


def totals_from_snapshots(period: Period, snapshots) -> Totals:
    """The same totals computed in Python from snapshot objects (tests compare the two)."""
    rows = [s for s in snapshots if s.period == str(period)]

    def total(name: str) -> Decimal:
        return _money(sum((getattr(s, name) for s in rows), ZERO))

    return Totals(
        period=period,
        projects=len(rows),
        measured_projects=sum(1 for s in rows if s.measured),
        actual=MoneyTotals(
            total("actual_cumulative_cost"),
            total("actual_cumulative_benefit"),
            total("actual_net_benefit"),
            total("actual_npv"),
        ),
        plan=MoneyTotals(
            total("plan_cumulative_cost"),
            total("plan_cumulative_benefit"),
            total("plan_net_benefit"),
            total("plan_npv"),
        ),
        coverage=Coverage(
            measured=sum(s.measured_count for s in rows), due=sum(s.due_count for s in rows)
        ),
    )
