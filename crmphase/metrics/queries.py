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


@dataclass(frozen=True)
class MoneyView:
    figures: ProjectFigures
    ledger: list[LedgerRow]
    chart: dict | None
    costs: list
    benefits: list
    corrections: dict[tuple[str, int], int]


def money_view(project, *, period: Period, currency: str) -> MoneyView:
    """The ROI figures at ``period``, the per-period plan/actual ledger and the entries."""
    from crmphase.extensions import db

    figures = figures_for(project, period)
    costs, benefits = load_money([project.id], None).get(project.id, ([], []))
    last = max([period, *(e.period for e in (*costs, *benefits))])
    ledger = money_ledger(costs, benefits, through=last, actual_through=clock.current_period())
    return MoneyView(
        figures=figures,
        ledger=ledger,
        chart=charts.money_chart(ledger, currency) if ledger else None,
        costs=list(db.session.scalars(services.money_entries(project.id, "cost"))),
        benefits=list(db.session.scalars(services.money_entries(project.id, "benefit"))),
        corrections=services.money_corrections(project.id),
    )
