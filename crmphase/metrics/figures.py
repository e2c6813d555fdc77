"""Every SPEC §4 figure of one project for one period, from one function.

:func:`project_figures` is pure: plain values in, a :class:`ProjectFigures` out. The ROI
endpoint, the Money and Measurement tabs and the monthly ROI snapshots all call it, so they
can never disagree. :func:`load_figures` feeds it for many projects at once, reading the
database in a fixed number of queries (no per-project queries), with the money already
summed per project, kind and period in SQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from crmphase.metrics.roi import (
    Cadence,
    Coverage,
    Direction,
    EntryKind,
    KpiStatus,
    KpiTarget,
    MoneyEntry,
    RoiFigures,
    kpi_progress,
    latest_value,
    roi_pair,
    variance,
)
from crmphase.money import round_half_up
from crmphase.periods import Period, period_range

# From worst to best: a project is as healthy as its weakest measured KPI.
STATUS_SEVERITY = {
    KpiStatus.OFF_TRACK: 0,
    KpiStatus.AT_RISK: 1,
    KpiStatus.ON_TRACK: 2,
}
DEFAULT_DISCOUNT_RATE = Decimal("0.08")


@dataclass(frozen=True)
class KpiInput:
    """A KPI as stored, with its measured values (all of them, or only the latest ≤ P)."""

    kpi_id: int
    name: str
    unit: str
    direction: Direction
    baseline_value: Decimal | None
    baseline_period: Period | None
    target_value: Decimal | None
    target_period: Period | None
    cadence: Cadence = Cadence.MONTHLY
    measurements: Mapping[Period, Decimal] = field(default_factory=dict)

    @property
    def target(self) -> KpiTarget | None:
        """The promise of the KPI, or ``None`` while baseline or target is incomplete."""
        if None in (
            self.baseline_value,
            self.baseline_period,
            self.target_value,
            self.target_period,
        ):
            return None
        return KpiTarget(
            direction=self.direction,
            baseline_value=self.baseline_value,
            baseline_period=self.baseline_period,
            target_value=self.target_value,
            target_period=self.target_period,
            cadence=self.cadence,
        )


@dataclass(frozen=True)
class KpiFigures:
    """Where one KPI stands at period P (SPEC §4)."""

    kpi_id: int
    name: str
    unit: str
    direction: Direction
    baseline_value: Decimal | None
    target_value: Decimal | None
    target_period: Period | None
    latest: Decimal | None
    attainment: Decimal | None
    expected: Decimal | None
    status: KpiStatus

    def as_dict(self) -> dict:
        """JSON-ready (decimals and periods as strings), e.g. for a snapshot's details."""

        def text(value):
            return None if value is None else str(value)

        return {
            "kpi_id": self.kpi_id,
            "name": self.name,
            "unit": self.unit,
            "direction": self.direction.value,
            "baseline_value": text(self.baseline_value),
            "target_value": text(self.target_value),
            "target_period": text(self.target_period),
            "latest": text(self.latest),
            "attainment": text(self.attainment),
            "expected": text(self.expected),
            "status": self.status.value,
        }


@dataclass(frozen=True)
class ProjectFigures:
    """Every SPEC §4 figure of one project at period P, plan and actual."""

    project_id: int
    period: Period
    actual: RoiFigures
    plan: RoiFigures
    variance: dict[str, Decimal | None]
    kpis: tuple[KpiFigures, ...]
    kpi_attainment: Decimal | None
    due_count: int
    measured_count: int
    measured: bool
    status: KpiStatus

    @property
    def coverage(self) -> Coverage:
        """Measured due KPI-periods of P over due KPI-periods of P."""
        return Coverage(measured=self.measured_count, due=self.due_count)


def kpi_figures(kpi: KpiInput, period: Period) -> KpiFigures:
    """Latest value, attainment, expected progress and status of one KPI at ``period``.

    A KPI without a complete baseline and target has no attainment and no expected
    progress; its status is ``no_data`` (nothing to measure it against).
    """
    target = kpi.target
    if target is None:
        latest, achieved, expected, status = (
            latest_value(kpi.measurements, period),
            None,
            None,
            KpiStatus.NO_DATA,
        )
    else:
        progress = kpi_progress(target, kpi.measurements, period)
        latest, achieved, expected, status = (
            progress.latest,
            progress.attainment,
            progress.expected,
            progress.status,
        )
    return KpiFigures(
        kpi_id=kpi.kpi_id,
        name=kpi.name,
        unit=kpi.unit,
        direction=kpi.direction,
        baseline_value=kpi.baseline_value,
        target_value=kpi.target_value,
        target_period=kpi.target_period,
        latest=latest,
        attainment=achieved,
        expected=expected,
        status=status,
    )


def mean_attainment(kpis: Iterable[KpiFigures]) -> Decimal | None:
    """The mean of the KPIs' attainments that exist, half-up to 2 places; ``None`` if none."""
    values = [k.attainment for k in kpis if k.attainment is not None]
    if not values:
        return None
    return round_half_up(sum(values, Decimal(0)) / len(values))


def project_status(kpis: Iterable[KpiFigures]) -> KpiStatus:
    """The worst status among KPIs with data (off_track < at_risk < on_track), else no_data."""
    known = [k.status for k in kpis if k.status in STATUS_SEVERITY]
    if not known:
        return KpiStatus.NO_DATA
    return min(known, key=STATUS_SEVERITY.__getitem__)


def project_figures(
    project_id: int,
    period: Period,
    *,
    costs: Iterable[MoneyEntry] = (),
    benefits: Iterable[MoneyEntry] = (),
    discount_rate: Decimal = DEFAULT_DISCOUNT_RATE,
    kpis: Iterable[KpiInput] = (),
    due_count: int = 0,
    measured_count: int = 0,
) -> ProjectFigures:
    """Every figure of SPEC §4 for one project at ``period``, from plain values.

    ``costs`` and ``benefits`` may hold entries of both kinds and of any period (later ones
    are ignored); ``due_count`` and ``measured_count`` are the project's KPI-periods due in
    ``period`` and how many of them have a measurement.
    """
    pair = roi_pair(costs, benefits, period, discount_rate)
    plan, actual = pair[EntryKind.PLAN], pair[EntryKind.ACTUAL]
    kpi_rows = tuple(kpi_figures(k, period) for k in kpis)
    coverage = Coverage(measured=measured_count, due=due_count)  # validates the counts
    return ProjectFigures(
        project_id=project_id,
        period=period,
        actual=actual,
        plan=plan,
        variance=variance(plan, actual),
        kpis=kpi_rows,
        kpi_attainment=mean_attainment(kpi_rows),
        due_count=coverage.due,
        measured_count=coverage.measured,
        measured=coverage.due == coverage.measured,
        status=project_status(kpi_rows),
    )


@dataclass(frozen=True)
class LedgerRow:
    """Plan and actual money of one period, and the cumulative net benefit up to it.

    The actual side is ``None`` for periods that have not happened yet.
    """

    period: Period
    plan_cost: Decimal
    actual_cost: Decimal | None
    plan_benefit: Decimal
    actual_benefit: Decimal | None
    plan_net: Decimal
    actual_net: Decimal | None

    @staticmethod
    def _minus(actual: Decimal | None, plan: Decimal) -> Decimal | None:
        return None if actual is None else actual - plan

    @property
    def cost_variance(self) -> Decimal | None:
        return self._minus(self.actual_cost, self.plan_cost)

    @property
    def benefit_variance(self) -> Decimal | None:
        return self._minus(self.actual_benefit, self.plan_benefit)

    @property
    def net_variance(self) -> Decimal | None:
        return self._minus(self.actual_net, self.plan_net)


def money_ledger(
    costs: Iterable[MoneyEntry],
    benefits: Iterable[MoneyEntry],
    *,
    through: Period | None = None,
    actual_through: Period | None = None,
) -> list[LedgerRow]:
    """Every period from the first entry (of either kind) to ``through`` (default: the last
    entry), with plan and actual amounts and the cumulative net benefit of each kind.

    Periods after ``actual_through`` (e.g. the current period) have no actual side.
    """
    costs, benefits = list(costs), list(benefits)
    periods = [e.period for e in (*costs, *benefits)]
    if not periods:
        return []
    last = through or max(periods)
    sums: dict[tuple[str, EntryKind, Period], Decimal] = defaultdict(Decimal)
    for what, entries in (("cost", costs), ("benefit", benefits)):
        for entry in entries:
            sums[(what, entry.kind, entry.period)] += entry.amount
    rows = []
    net = {EntryKind.PLAN: Decimal("0.00"), EntryKind.ACTUAL: Decimal("0.00")}
    for period in period_range(min(periods), last):
        amounts = {
            (what, kind): sums.get((what, kind, period), Decimal("0.00"))
            for what in ("cost", "benefit")
            for kind in EntryKind
        }
        for kind in EntryKind:
            net[kind] += amounts[("benefit", kind)] - amounts[("cost", kind)]
        happened = actual_through is None or period <= actual_through
        rows.append(
            LedgerRow(
                period=period,
                plan_cost=amounts[("cost", EntryKind.PLAN)],
                actual_cost=amounts[("cost", EntryKind.ACTUAL)] if happened else None,
                plan_benefit=amounts[("benefit", EntryKind.PLAN)],
                actual_benefit=amounts[("benefit", EntryKind.ACTUAL)] if happened else None,
                plan_net=net[EntryKind.PLAN],
                actual_net=net[EntryKind.ACTUAL] if happened else None,
            )
        )
    return rows


# --------------------------------------------------------------------------- loading


def _period_or_none(text: str | None) -> Period | None:
    return Period.parse(text) if text else None


def load_money(project_ids: list[int], period: Period | None) -> dict[int, tuple[list, list]]:
    """``{project_id: (costs, benefits)}`` as MoneyEntry lists, summed per kind and period
    in SQL (two queries), only periods up to ``period`` (all when ``None``)."""
    import sqlalchemy as sa

    from crmphase.extensions import db
    from crmphase.metrics.models import BenefitEntry, CostEntry

    money: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
    for index, model in enumerate((CostEntry, BenefitEntry)):
        rows = db.session.execute(
            sa.select(
                model.project_id,
                model.kind,
                model.period,
                sa.func.sum(model.amount).label("amount"),
            )
            .where(
                model.project_id.in_(project_ids),
                model.period <= str(period) if period else sa.true(),
            )
            .group_by(model.project_id, model.kind, model.period)
        )
        for row in rows:
            amount = Decimal(row.amount).quantize(Decimal("0.01"))
            money[row.project_id][index].append(
                MoneyEntry(Period.parse(row.period), EntryKind(row.kind), amount)
            )
    return money


def load_kpis(project_ids: list[int], period: Period) -> dict[int, list[KpiInput]]:
    """Each project's KPIs with their latest value at or before ``period`` (two queries)."""
    import sqlalchemy as sa

    from crmphase.extensions import db
    from crmphase.metrics.models import Kpi, Measurement

    latest_period = (
        sa.select(Measurement.kpi_id, sa.func.max(Measurement.period).label("period"))
        .join(Kpi, Kpi.id == Measurement.kpi_id)
        .where(Kpi.project_id.in_(project_ids), Measurement.period <= str(period))
        .group_by(Measurement.kpi_id)
        .subquery()
    )
    latest: dict[int, dict[Period, Decimal]] = {}
    for kpi_id, measured_period, value in db.session.execute(
        sa.select(Measurement.kpi_id, Measurement.period, Measurement.value).join(
            latest_period,
            sa.and_(
                latest_period.c.kpi_id == Measurement.kpi_id,
                latest_period.c.period == Measurement.period,
            ),
        )
    ):
        latest[kpi_id] = {Period.parse(measured_period): Decimal(value)}
    kpis: dict[int, list[KpiInput]] = defaultdict(list)
    columns = (
        Kpi.id,
        Kpi.project_id,
        Kpi.name,
        Kpi.unit,
        Kpi.direction,
        Kpi.baseline_value,
        Kpi.baseline_period,
        Kpi.target_value,
        Kpi.target_period,
        Kpi.cadence,
    )
    for row in db.session.execute(
        sa.select(*columns).where(Kpi.project_id.in_(project_ids)).order_by(Kpi.name, Kpi.id)
    ):
        kpis[row.project_id].append(kpi_input(row, latest.get(row.id, {})))
    return kpis


def kpi_input(kpi, measurements: Mapping[Period, Decimal]) -> KpiInput:
    """A stored :class:`~crmphase.metrics.models.Kpi` (or a row with its columns) as plain
    values."""
    return KpiInput(
        kpi_id=kpi.id,
        name=kpi.name,
        unit=kpi.unit or "",
        direction=Direction(kpi.direction),
        baseline_value=kpi.baseline_value,
        baseline_period=_period_or_none(kpi.baseline_period),
        target_value=kpi.target_value,
        target_period=_period_or_none(kpi.target_period),
        cadence=Cadence(kpi.cadence),
        measurements=measurements,
    )


def load_figures(
    project_ids: Iterable[int], period: Period, *, today: date | None = None
) -> dict[int, ProjectFigures]:
    """:class:`ProjectFigures` at ``period`` for every given project that exists.

    A fixed number of queries whatever the number of projects: projects with their
    program's discount rate, money summed per project, kind and period, KPIs with their
    latest value, and the tracking facts (decisions, KPIs, measured periods).
    """
    import sqlalchemy as sa

    from crmphase import clock
    from crmphase.extensions import db
    from crmphase.metrics.tracking import load_tracking
    from crmphase.programs.models import Program, Project

    ids = sorted(set(project_ids))
    if not ids:
        return {}
    today = today or clock.today()
    rates = dict(
        db.session.execute(
            sa.select(Project.id, Program.discount_rate)
            .join(Program, Program.id == Project.program_id)
            .where(Project.id.in_(ids))
        ).all()
    )
    money = load_money(ids, period)
    kpis = load_kpis(ids, period)
    tracking = load_tracking(ids, through=period, since=period)
    result: dict[int, ProjectFigures] = {}
    for project_id, rate in rates.items():
        due = measured = 0
        facts = tracking.get(project_id)
        if facts is not None:
            due_periods = facts.kpi_periods(through=period, today=today, first=period)
            due = len(due_periods)
            measured = sum(1 for kp in due_periods if kp.measured)
        costs, benefits = money.get(project_id, ((), ()))
        result[project_id] = project_figures(
            project_id,
            period,
            costs=costs,
            benefits=benefits,
            discount_rate=Decimal(rate) if rate is not None else DEFAULT_DISCOUNT_RATE,
            kpis=kpis.get(project_id, ()),
            due_count=due,
            measured_count=measured,
        )
    return result


def figures_for(project, period: Period, *, today: date | None = None) -> ProjectFigures:
    """:class:`ProjectFigures` of one project (a convenience over :func:`load_figures`)."""
    return load_figures([project.id], period, today=today)[project.id]
