"""What the Measurement and Money tabs show, assembled from a few bulk reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crmphase import clock
from crmphase.metrics import charts, services
from crmphase.metrics.figures import (
    KpiFigures,
    LedgerRow,
    ProjectFigures,
    figures_for,
    kpi_input,
    load_money,
    money_ledger,
)
from crmphase.metrics.models import Kpi, Measurement
from crmphase.metrics.tracking import load_tracking
from crmphase.periods import Period


@dataclass(frozen=True)
class PeriodRow:
    """One line of a KPI's period table."""

    period: Period
    measurement: Measurement | None
    due: bool
    missing: bool

    @property
    def state(self) -> str:
        if self.measurement is not None:
            return "measured"
        if self.missing:
            return "missing"
        return "due" if self.due else "not_due"


@dataclass(frozen=True)
class KpiPanel:
    kpi: Kpi
    figures: KpiFigures
    chart: dict
    rows: list[PeriodRow]

    @property
    def missing_count(self) -> int:
        return sum(1 for r in self.rows if r.missing)


def measurement_panels(project, *, period: Period, today: date) -> list[KpiPanel]:
    """Per KPI: its figures at ``period``, a chart, and its periods (newest first) with
    the measured value, whether it was due, and whether it is missing."""
    kpis = services.kpis_of(project.id)
    if not kpis:
        return []
    by_kpi: dict[int, dict[Period, Measurement]] = {k.id: {} for k in kpis}
    for measurement in services.measurements_of(by_kpi):
        by_kpi[measurement.kpi_id][Period.parse(measurement.period)] = measurement
    tracking = load_tracking([project.id], through=period).get(project.id)
    due: dict[int, dict[Period, bool]] = {k.id: {} for k in kpis}
    if tracking is not None:
        for kp in tracking.kpi_periods(through=period, today=today):
            due[kp.kpi_id][kp.period] = kp.missing
    figures = {k.kpi_id: k for k in figures_for(project, period, today=today).kpis}
    panels = []
    for kpi in kpis:
        measured = by_kpi[kpi.id]
        values = {p: Decimal(m.value) for p, m in measured.items()}
        periods = sorted(set(measured) | set(due[kpi.id]), reverse=True)
        rows = [
            PeriodRow(
                period=p,
                measurement=measured.get(p),
                due=p in due[kpi.id],
                missing=due[kpi.id].get(p, False),
            )
            for p in periods
        ]
        missing = [r.period for r in rows if r.missing]
        panels.append(
            KpiPanel(
                kpi=kpi,
                figures=figures[kpi.id],
                chart=charts.kpi_chart(
                    kpi_input(kpi, values), values, through=period, missing=missing
                ),
                rows=rows,
            )
        )
    return panels


RECENT_ENTRIES = 10


def _recent(project_id: int, what: str):
    """The newest entries of one kind (at most RECENT_ENTRIES) and how many there are."""
    import sqlalchemy as sa

    from crmphase.extensions import db

    query = services.money_entries(project_id, what, newest_first=True)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    return list(db.session.scalars(query.limit(RECENT_ENTRIES))), total


@dataclass(frozen=True)
class MoneyView:
    figures: ProjectFigures
    ledger: list[LedgerRow]
    chart: dict | None
    costs: tuple[list, int]
    benefits: tuple[list, int]
    corrections: dict[tuple[str, int], int]


def money_view(project, *, period: Period, currency: str) -> MoneyView:
    """The ROI figures at ``period``, the per-period plan/actual ledger and the entries."""

    figures = figures_for(project, period)
    costs, benefits = load_money([project.id], None).get(project.id, ([], []))
    last = max([period, *(e.period for e in (*costs, *benefits))])
    ledger = money_ledger(costs, benefits, through=last, actual_through=clock.current_period())
    return MoneyView(
        figures=figures,
        ledger=ledger,
        chart=charts.money_chart(ledger, currency) if ledger else None,
        costs=_recent(project.id, "cost"),
        benefits=_recent(project.id, "benefit"),
        corrections=services.money_corrections(project.id),
    )
