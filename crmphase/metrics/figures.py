"""Every SPEC §4 figure of one project for one period, from one function.

:func:`project_figures` is pure: plain values in, a :class:`ProjectFigures` out. The ROI
endpoint, the Money and Measurement tabs and the monthly ROI snapshots all call it, so they
can never disagree. :func:`load_figures` feeds it for many projects at once, reading the
database in a fixed number of queries (no per-project queries), with the money already
summed per project, kind and period in SQL.
"""

from __future__ import annotations

import functools
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
    cadence_includes,
    kpi_progress,
    latest_value,
    roi_pair,
    variance,
)
from crmphase.metrics.tracking import PositionChange, position_history, tracked_in
from crmphase.money import CENT, round_half_up
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
    in SQL (one query), only periods up to ``period`` (all when ``None``)."""
    money: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
    ids = sorted(set(project_ids))
    if ids:
        money.update(_money_by_project(ids, period))
    return money


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

    Four queries whatever the number of projects: the projects with their program's
    discount rate, cost and benefit summed per project, kind and period
    (one UNION ALL), the KPIs each with its latest value at or before ``period``, and the
    gate decisions. The KPI rows serve both the figures and the coverage counts.

    ``today`` changes nothing: the counts of P do not depend on whether a KPI-period's
    grace has ended (it is accepted for the callers that pass it).
    """
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    projects = _project_rows(ids)
    money = _money_by_project(ids, period)
    kpis, latest_periods = _kpis_with_latest(ids, period)
    decisions = _decisions_by_project(ids)
    result: dict[int, ProjectFigures] = {}
    for row in projects:
        project_id = row.id
        project_kpis = kpis.get(project_id, ())
        changes = position_history(
            row.created_at.date(),
            row.phase_entered_on,
            row.phase,
            row.state,
            decisions.get(project_id, ()),
        )
        due, measured = due_and_measured_in(
            project_kpis, latest_periods, period, tracked=tracked_in(changes, period)
        )
        costs, benefits = money.get(project_id, ((), ()))
        rate = row.discount_rate
        result[project_id] = project_figures(
            project_id,
            period,
            costs=costs,
            benefits=benefits,
            discount_rate=Decimal(rate) if rate is not None else DEFAULT_DISCOUNT_RATE,
            kpis=project_kpis,
            due_count=due,
            measured_count=measured,
        )
    return result


def due_and_measured_in(
    kpis: Iterable[KpiInput],
    latest_periods: Mapping[int, Period],
    period: Period,
    *,
    tracked: bool,
) -> tuple[int, int]:
    """How many of the ``kpis`` are due in ``period`` (SPEC §4) and how many of those have
    a measurement for it, given each KPI's latest measured period at or before ``period``.

    The same counts as :meth:`ProjectTracking.kpi_periods` with ``first=through=period``
    (see the property test), without building the periods: a due KPI is measured in P
    exactly when its latest measured period up to P is P.
    """
    if not tracked:
        return 0, 0
    due = measured = 0
    for kpi in kpis:
        baseline = kpi.baseline_period
        if baseline is None or period < baseline or not cadence_includes(kpi.cadence, period):
            continue
        due += 1
        if latest_periods.get(kpi.kpi_id) == period:
            measured += 1
    return due, measured


# The loaders' statements are built once per shape (one project or many; with or without
# a last period) with bound parameters: building them costs more than running them for
# one project.


def _where_id(column, single: bool):
    """``column = :project_id`` for one project, else ``column IN :project_ids``."""
    import sqlalchemy as sa

    if single:
        return column == sa.bindparam("project_id")
    return column.in_(sa.bindparam("project_ids", expanding=True))


def _id_params(ids: list[int]) -> dict:
    return {"project_id": ids[0]} if len(ids) == 1 else {"project_ids": ids}


@functools.cache
def _project_statement(single: bool):
    import sqlalchemy as sa

    from crmphase.programs.models import Program, Project

    projects, programs = Project.__table__, Program.__table__
    return (
        sa.select(
            projects.c.id,
            programs.c.discount_rate,
            projects.c.phase,
            projects.c.state,
            projects.c.phase_entered_on,
            projects.c.created_at,
        )
        .join_from(projects, programs, programs.c.id == projects.c.program_id)
        .where(_where_id(projects.c.id, single))
    )


def _project_rows(ids: list[int]) -> list:
    """Each existing project with what its figures and tracking need from it and its
    program."""
    from crmphase.extensions import db

    return db.session.execute(_project_statement(len(ids) == 1), _id_params(ids)).all()


@functools.cache
def _money_statement(single: bool, through_period: bool):
    import sqlalchemy as sa

    from crmphase.metrics.models import BenefitEntry, CostEntry

    selects = []
    for index, model in enumerate((CostEntry, BenefitEntry)):
        table = model.__table__
        selects.append(
            sa.select(
                sa.literal_column(str(index)).label("what"),
                table.c.project_id,
                table.c.kind,
                table.c.period,
                sa.func.sum(table.c.amount).label("amount"),
            )
            .where(
                _where_id(table.c.project_id, single),
                table.c.period <= sa.bindparam("period") if through_period else sa.true(),
            )
            .group_by(table.c.project_id, table.c.kind, table.c.period)
        )
    return sa.union_all(*selects)


def _money_by_project(ids: list[int], period: Period | None) -> dict[int, tuple[list, list]]:
    """``{project_id: (costs, benefits)}`` as MoneyEntry lists, summed per kind and period
    in SQL (one UNION ALL of costs and benefits), only periods up to ``period`` (all when
    ``None``)."""
    from crmphase.extensions import db

    params = _id_params(ids)
    if period:
        params["period"] = str(period)
    rows = db.session.execute(_money_statement(len(ids) == 1, bool(period)), params).all()
    money: dict[int, tuple[list, list]] = {}
    kinds = {kind.value: kind for kind in EntryKind}
    parse, cent = Period.parse, CENT
    for what, project_id, kind, entry_period, amount in rows:
        lists = money.get(project_id)
        if lists is None:
            lists = money[project_id] = ([], [])
        lists[what].append(
            MoneyEntry(parse(entry_period), kinds[kind], Decimal(amount).quantize(cent))
        )
    return money


@functools.cache
def _kpi_statement(single: bool, lateral: bool):
    """Each KPI with its latest measurement at or before ``:period``.

    ``lateral`` (PostgreSQL) finds it with a ``LATERAL`` subquery, one index lookup per KPI:
    given the join below, PostgreSQL hashes every measurement ever recorded and looks the
    latest period up again for each of them, a cost that grows with the history (for the
    32,000 KPIs of the bench's size L, EXPLAIN ANALYZE gave 2.6 s against 0.6 s). SQLite
    has no LATERAL and runs the join as one lookup per KPI.
    """
    import sqlalchemy as sa

    from crmphase.metrics.models import Kpi, Measurement

    kpis, measurements = Kpi.__table__, Measurement.__table__
    earlier = measurements.alias("earlier")
    if lateral:
        latest = (
            sa.select(earlier.c.period, earlier.c.value)
            .where(earlier.c.kpi_id == kpis.c.id, earlier.c.period <= sa.bindparam("period"))
            .order_by(earlier.c.period.desc())
            .limit(1)
            .lateral("latest")
        )
        source = kpis.outerjoin(latest, sa.true())
    else:
        latest_period = (
            sa.select(sa.func.max(earlier.c.period))
            .where(earlier.c.kpi_id == kpis.c.id, earlier.c.period <= sa.bindparam("period"))
            .correlate(kpis)
            .scalar_subquery()
        )
        latest = measurements
        source = kpis.outerjoin(
            measurements,
            sa.and_(
                measurements.c.kpi_id == kpis.c.id,
                measurements.c.period == latest_period,
            ),
        )
    return (
        sa.select(
            kpis.c.id,
            kpis.c.project_id,
            kpis.c.name,
            kpis.c.unit,
            kpis.c.direction,
            kpis.c.baseline_value,
            kpis.c.baseline_period,
            kpis.c.target_value,
            kpis.c.target_period,
            kpis.c.cadence,
            latest.c.period,
            latest.c.value,
        )
        .select_from(source)
        .where(_where_id(kpis.c.project_id, single))
        .order_by(kpis.c.name, kpis.c.id)
    )


def _kpis_with_latest(
    ids: list[int], period: Period
) -> tuple[dict[int, list[KpiInput]], dict[int, Period]]:
    """Each project's KPIs (by name) with their latest value at or before ``period``, and
    each measured KPI's latest period: one query, the latest period found per KPI through
    the (kpi_id, period) index."""
    from crmphase.extensions import db

    params = _id_params(ids) | {"period": str(period)}
    lateral = db.session.get_bind().dialect.name == "postgresql"
    rows = db.session.execute(_kpi_statement(len(ids) == 1, lateral), params).all()
    kpis: dict[int, list[KpiInput]] = defaultdict(list)
    latest_periods: dict[int, Period] = {}
    for row in rows:
        measurements: dict[Period, Decimal] = {}
        if row.period is not None:  # the KPI's latest measurement at or before ``period``
            latest = latest_periods[row.id] = Period.parse(row.period)
            measurements[latest] = Decimal(row.value)
        kpis[row.project_id].append(kpi_input(row, measurements))
    return kpis, latest_periods


@functools.cache
def _decision_statement(single: bool):
    import sqlalchemy as sa

    from crmphase.phases.models import GateDecision

    decisions = GateDecision.__table__
    return (
        sa.select(
            decisions.c.project_id,
            decisions.c.decided_at,
            decisions.c.resulting_phase,
            decisions.c.resulting_state,
        )
        .where(_where_id(decisions.c.project_id, single))
        .order_by(decisions.c.decided_at, decisions.c.id)
    )


def _decisions_by_project(ids: list[int]) -> dict[int, list[PositionChange]]:
    """Each project's gate decisions as position changes, in the order they were taken."""
    from crmphase.extensions import db

    rows = db.session.execute(_decision_statement(len(ids) == 1), _id_params(ids)).all()
    decisions: dict[int, list[PositionChange]] = defaultdict(list)
    for project_id, decided_at, phase, state in rows:
        decisions[project_id].append(PositionChange(decided_at.date(), phase, state))
    return decisions


def figures_for(project, period: Period, *, today: date | None = None) -> ProjectFigures:
    """:class:`ProjectFigures` of one project (a convenience over :func:`load_figures`)."""
    return load_figures([project.id], period, today=today)[project.id]
