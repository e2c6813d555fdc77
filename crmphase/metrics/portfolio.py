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


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _totals_columns():
    from crmphase.metrics.models import RoiSnapshot as S

    return (
        sa.func.count(S.id).label("projects"),
        sa.func.coalesce(sa.func.sum(sa.case((S.measured, 1), else_=0)), 0).label("measured"),
        sa.func.sum(S.actual_cumulative_cost).label("a_cost"),
        sa.func.sum(S.actual_cumulative_benefit).label("a_benefit"),
        sa.func.sum(S.actual_net_benefit).label("a_net"),
        sa.func.sum(S.actual_npv).label("a_npv"),
        sa.func.sum(S.plan_cumulative_cost).label("p_cost"),
        sa.func.sum(S.plan_cumulative_benefit).label("p_benefit"),
        sa.func.sum(S.plan_net_benefit).label("p_net"),
        sa.func.sum(S.plan_npv).label("p_npv"),
        sa.func.coalesce(sa.func.sum(S.due_count), 0).label("due"),
        sa.func.coalesce(sa.func.sum(S.measured_count), 0).label("measured_kpis"),
    )


def _row_to_totals(period: Period, row) -> Totals:
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


def _filtered(query, program_id: int | None, department: str | None):
    from crmphase.metrics.models import RoiSnapshot as S

    if program_id:
        query = query.where(S.program_id == program_id)
    if department:
        query = query.where(S.department == department)
    return query


def portfolio_totals(
    period: Period, *, program_id: int | None = None, department: str | None = None
) -> Totals:
    """Totals of every snapshot of ``period`` (optionally one program or department)."""
    from crmphase.extensions import db
    from crmphase.metrics.models import RoiSnapshot as S

    query = _filtered(
        sa.select(*_totals_columns()).where(S.period == str(period)), program_id, department
    )
    return _row_to_totals(period, db.session.execute(query).one())


def totals_by_program(
    period: Period, *, program_id: int | None = None, department: str | None = None
) -> list[tuple[int, str, Totals]]:
    """``(program_id, program_name, totals)`` per program with snapshots in ``period``."""
    from crmphase.extensions import db
    from crmphase.metrics.models import RoiSnapshot as S
    from crmphase.programs.models import Program

    query = _filtered(
        sa.select(Program.id, Program.name, *_totals_columns())
        .join(Program, Program.id == S.program_id)
        .where(S.period == str(period))
        .group_by(Program.id, Program.name)
        .order_by(Program.name),
        program_id,
        department,
    )
    return [(row.id, row.name, _row_to_totals(period, row)) for row in db.session.execute(query)]


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
