"""Every read of the metrics domain: what the rules, the pages and the API need.

Each fact is read here once, in bulk (a fixed number of queries for any number of
projects), and returned as the values the rules in :mod:`crmphase.metrics.rules` and
:mod:`crmphase.metrics.roi` take. :func:`load_figures` is the one door to a project's
figures: the ROI endpoint, the Money and Measurement tabs, the monthly snapshots and the
daily check all go through it, so they can never disagree.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crmphase import clock
from crmphase.audit.models import Event
from crmphase.auth.models import User
from crmphase.auth.policy import Action, can
from crmphase.auth.roles import Role
from crmphase.database import AnyRow, AnySelect
from crmphase.errors import NotFound
from crmphase.extensions import db
from crmphase.metrics import charts, imports
from crmphase.metrics.models import (
    Alert,
    BenefitEntry,
    CostEntry,
    Kpi,
    KpiRevision,
    Measurement,
    MeasurementRevision,
    RoiSnapshot,
    SnapshotTotals,
)
from crmphase.metrics.roi import Cadence, Coverage, Direction, EntryKind, MoneyEntry
from crmphase.metrics.rules import (
    CLOSED_STATES,
    DEFAULT_DISCOUNT_RATE,
    KpiContact,
    KpiFigures,
    KpiInput,
    KpiPeriod,
    KpiSchedule,
    LedgerRow,
    MoneyTotals,
    PendingReview,
    Person,
    PositionChange,
    ProjectFigures,
    ProjectTracking,
    SnapshotSubject,
    Totals,
    WatchedProject,
    due_and_measured_in,
    money_ledger,
    position_history,
    project_figures,
    tracked_periods,
)
from crmphase.money import CENT, summed_money
from crmphase.periods import Period, PeriodError
from crmphase.phases.models import GateDecision, GateReview
from crmphase.programs.models import Program, Project

# --------------------------------------------------------------------------- statements
# The statements are built once per shape (one project or many; with or without a last
# period) with bound parameters: building them costs more than running them for one project.


def _where_id(column: sa.ColumnElement[Any], single: bool) -> sa.ColumnElement[bool]:
    """``column = :project_id`` for one project, else ``column IN :project_ids``."""
    if single:
        return column == sa.bindparam("project_id")
    return column.in_(sa.bindparam("project_ids", expanding=True))


def _id_params(ids: list[int]) -> dict[str, Any]:
    return {"project_id": ids[0]} if len(ids) == 1 else {"project_ids": ids}


def _period_or_none(text: str | None) -> Period | None:
    return Period.parse(text) if text else None


# --------------------------------------------------------------------------- projects


@functools.cache
def _project_statement(single: bool) -> AnySelect:
    projects, programs = Project.__table__, Program.__table__
    return (
        sa.select(
            projects.c.id,
            programs.c.discount_rate,
            programs.c.measurement_grace_days,
            projects.c.phase,
            projects.c.state,
            projects.c.phase_entered_on,
            projects.c.created_at,
        )
        .join_from(projects, programs, programs.c.id == projects.c.program_id)
        .where(_where_id(projects.c.id, single))
    )


def _project_rows(ids: list[int]) -> Sequence[AnyRow]:
    """Each existing project with what its figures and tracking need from it and its
    program."""
    return db.session.execute(_project_statement(len(ids) == 1), _id_params(ids)).all()


@functools.cache
def _decision_statement(single: bool) -> AnySelect:
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
    rows = db.session.execute(_decision_statement(len(ids) == 1), _id_params(ids)).all()
    decisions: dict[int, list[PositionChange]] = defaultdict(list)
    for project_id, decided_at, phase, state in rows:
        decisions[project_id].append(PositionChange(decided_at.date(), phase, state))
    return decisions


def _positions(row: AnyRow, decisions: Mapping[int, list[PositionChange]]) -> list[PositionChange]:
    return position_history(
        row.created_at.date(),
        row.phase_entered_on,
        row.phase,
        row.state,
        decisions.get(row.id, ()),
    )


# --------------------------------------------------------------------------- money


@functools.cache
def _money_statement(single: bool, through_period: bool) -> sa.CompoundSelect[*tuple[Any, ...]]:
    selects: list[AnySelect] = []
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


def load_money(
    project_ids: Iterable[int], period: Period | None
) -> dict[int, tuple[list[MoneyEntry], list[MoneyEntry]]]:
    """``{project_id: (costs, benefits)}`` as MoneyEntry lists, summed per kind and period
    in SQL (one UNION ALL of costs and benefits), only periods up to ``period`` (all when
    ``None``). A project without entries has two empty lists."""
    money: dict[int, tuple[list[MoneyEntry], list[MoneyEntry]]] = defaultdict(lambda: ([], []))
    ids = sorted(set(project_ids))
    if not ids:
        return money
    params = _id_params(ids)
    if period:
        params["period"] = str(period)
    rows = db.session.execute(_money_statement(len(ids) == 1, bool(period)), params).all()
    kinds = {kind.value: kind for kind in EntryKind}
    parse, cent = Period.parse, CENT
    for what, project_id, kind, entry_period, amount in rows:
        money[project_id][what].append(
            MoneyEntry(parse(entry_period), kinds[kind], Decimal(amount).quantize(cent))
        )
    return money


# --------------------------------------------------------------------------- KPIs


def kpi_input(kpi: Kpi | AnyRow, measurements: Mapping[Period, Decimal]) -> KpiInput:
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


@functools.cache
def _kpi_statement(single: bool, lateral: bool) -> AnySelect:
    """Each KPI with its latest measurement at or before ``:period``.

    ``lateral`` (PostgreSQL) finds it with a ``LATERAL`` subquery, one index lookup per KPI:
    given the join below, PostgreSQL hashes every measurement ever recorded and looks the
    latest period up again for each of them, a cost that grows with the history (for the
    32,000 KPIs of the bench's size L, EXPLAIN ANALYZE gave 2.6 s against 0.6 s). SQLite
    has no LATERAL and runs the join as one lookup per KPI.
    """
    kpis, measurements = Kpi.__table__, Measurement.__table__
    earlier = measurements.alias("earlier")
    source: sa.FromClause
    if lateral:
        latest = (
            sa.select(earlier.c.period, earlier.c.value)
            .where(earlier.c.kpi_id == kpis.c.id, earlier.c.period <= sa.bindparam("period"))
            .order_by(earlier.c.period.desc())
            .limit(1)
            .lateral("latest")
        )
        source = kpis.outerjoin(latest, sa.true())
        latest_columns = (latest.c.period, latest.c.value)
    else:
        latest_period = (
            sa.select(sa.func.max(earlier.c.period))
            .where(earlier.c.kpi_id == kpis.c.id, earlier.c.period <= sa.bindparam("period"))
            .correlate(kpis)
            .scalar_subquery()
        )
        source = kpis.outerjoin(
            measurements,
            sa.and_(
                measurements.c.kpi_id == kpis.c.id,
                measurements.c.period == latest_period,
            ),
        )
        latest_columns = (measurements.c.period, measurements.c.value)
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
            *latest_columns,
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


# --------------------------------------------------------------------------- figures


def load_figures(project_ids: Iterable[int], period: Period) -> dict[int, ProjectFigures]:
    """:class:`ProjectFigures` at ``period`` for every given project that exists.

    Four queries whatever the number of projects: the projects with their program's
    discount rate, cost and benefit summed per project, kind and period
    (one UNION ALL), the KPIs each with its latest value at or before ``period``, and the
    gate decisions. The KPI rows serve both the figures and the coverage counts.
    """
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    projects = _project_rows(ids)
    money = load_money(ids, period)
    kpis, latest_periods = _kpis_with_latest(ids, period)
    decisions = _decisions_by_project(ids)
    result: dict[int, ProjectFigures] = {}
    for row in projects:
        project_kpis = kpis.get(row.id, [])
        tracked = period in tracked_periods(_positions(row, decisions), period, since=period)
        due, measured = due_and_measured_in(project_kpis, latest_periods, period, tracked=tracked)
        costs, benefits = money[row.id]
        rate = row.discount_rate
        result[row.id] = project_figures(
            row.id,
            period,
            costs=costs,
            benefits=benefits,
            discount_rate=Decimal(rate) if rate is not None else DEFAULT_DISCOUNT_RATE,
            kpis=project_kpis,
            due_count=due,
            measured_count=measured,
        )
    return result


def figures_for(project: Project, period: Period) -> ProjectFigures:
    """:class:`ProjectFigures` of one project (a convenience over :func:`load_figures`)."""
    return load_figures([project.id], period)[project.id]


# --------------------------------------------------------------------------- tracking


def load_tracking(
    project_ids: Iterable[int], *, through: Period, since: Period | None = None
) -> dict[int, ProjectTracking]:
    """Tracking facts for many projects in four queries.

    ``since`` limits the measured periods read to ``since``..``through`` (for callers that
    look at those periods only, e.g. one period's coverage).
    """
    ids = sorted(set(project_ids))
    if not ids:
        return {}
    projects = _project_rows(ids)
    decisions = _decisions_by_project(ids)
    kpis: dict[int, list[KpiSchedule]] = defaultdict(list)
    for row in db.session.execute(
        sa.select(Kpi.id, Kpi.project_id, Kpi.baseline_period, Kpi.cadence).where(
            Kpi.project_id.in_(ids)
        )
    ):
        kpis[row.project_id].append(
            KpiSchedule(
                row.id, row.project_id, _period_or_none(row.baseline_period), Cadence(row.cadence)
            )
        )
    measured: dict[int, set[Period]] = defaultdict(set)
    kpi_ids = [k.kpi_id for schedules in kpis.values() for k in schedules]
    for chunk_start in range(0, len(kpi_ids), 900):
        chunk = kpi_ids[chunk_start : chunk_start + 900]
        for kpi_id, period in db.session.execute(
            sa.select(Measurement.kpi_id, Measurement.period).where(
                Measurement.kpi_id.in_(chunk),
                Measurement.period <= str(through),
                Measurement.period >= str(since) if since else sa.true(),
            )
        ):
            measured[kpi_id].add(Period.parse(period))
    result: dict[int, ProjectTracking] = {}
    for row in projects:
        schedules = kpis.get(row.id, [])
        result[row.id] = ProjectTracking(
            project_id=row.id,
            grace_days=row.measurement_grace_days,
            tracked=tracked_periods(_positions(row, decisions), through),
            kpis=tuple(schedules),
            measured={k.kpi_id: frozenset(measured.get(k.kpi_id, ())) for k in schedules},
        )
    return result


def missing_kpi_periods(project_id: int, *, today: date | None = None) -> list[KpiPeriod]:
    """The project's due KPI-periods whose grace has ended without a measurement."""
    today = today or clock.today()
    tracking = load_tracking([project_id], through=Period.of(today)).get(project_id)
    return tracking.missing(today=today) if tracking else []


# --------------------------------------------------------------------------- KPIs and entries

MONEY_KINDS: dict[str, type[CostEntry] | type[BenefitEntry]] = {
    "cost": CostEntry,
    "benefit": BenefitEntry,
}


def get_kpi(kpi_id: int) -> Kpi:
    """The KPI, or :class:`NotFound`."""
    kpi = db.session.get(Kpi, kpi_id)
    if kpi is None:
        raise NotFound(f"no KPI {kpi_id}")
    return kpi


def kpis_of(project_id: int) -> list[Kpi]:
    """A project's KPIs by name, with owners loaded."""
    return list(
        db.session.scalars(
            sa.select(Kpi)
            .where(Kpi.project_id == project_id)
            .options(
                selectinload(Kpi.owner),
                selectinload(Kpi.revisions).selectinload(KpiRevision.revised_by),
            )
            .order_by(Kpi.name, Kpi.id)
        )
    )


def measurements_of(kpi_ids: Iterable[int]) -> list[Measurement]:
    """Current measurements of the KPIs, oldest period first, with their revisions."""
    ids = list(kpi_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Measurement)
            .where(Measurement.kpi_id.in_(ids))
            .options(
                selectinload(Measurement.revisions).selectinload(MeasurementRevision.recorded_by),
                selectinload(Measurement.recorded_by),
            )
            .order_by(Measurement.kpi_id, Measurement.period)
        )
    )


def measurement_of(
    kpi_id: int, period: Period, *, with_revisions: bool = False
) -> Measurement | None:
    """The current measurement of a KPI for a period, if any."""
    query = sa.select(Measurement).where(
        Measurement.kpi_id == kpi_id, Measurement.period == str(period)
    )
    if with_revisions:
        query = query.options(selectinload(Measurement.revisions))
    return db.session.scalar(query)


def current_measurement(kpi: Kpi, period_text: str | None) -> Measurement | None:
    """The current value of ``kpi`` for a period given as text (``None`` when invalid)."""
    try:
        period = Period.parse(period_text or "")
    except PeriodError:
        return None
    return measurement_of(kpi.id, period, with_revisions=True)


def money_model(what: str) -> type[CostEntry] | type[BenefitEntry]:
    """The model of ``cost`` or ``benefit`` entries."""
    try:
        return MONEY_KINDS[what]
    except KeyError:
        raise ValueError(f"money entries are 'cost' or 'benefit', not {what!r}") from None


def get_money_entry(what: str, entry_id: int) -> CostEntry | BenefitEntry:
    """The cost or benefit entry, or :class:`NotFound`."""
    entry = db.session.get(money_model(what), entry_id)
    if not isinstance(entry, CostEntry | BenefitEntry):  # None: there is none
        raise NotFound(f"no {what} entry {entry_id}")
    return entry


def money_entries(
    project_id: int, what: str, kind: str | None = None, *, newest_first: bool = False
) -> AnySelect:
    """A query of the project's cost or benefit entries, by period then kind and id."""
    model = money_model(what)
    if newest_first:
        order = (model.period.desc(), model.kind, model.id.desc())
    else:
        order = (model.period.asc(), model.kind, model.id.asc())
    query = sa.select(model).where(model.project_id == project_id).order_by(*order)
    if kind:
        query = query.where(model.kind == kind)
    return query


def money_corrections(project_id: int) -> dict[tuple[str, int], int]:
    """How often each entry was corrected: ``{(what, entry_id): count}``."""
    rows = db.session.execute(
        sa.select(Event.subject_type, Event.subject_id, sa.func.count())
        .where(
            Event.project_id == project_id,
            Event.action.in_(("cost.corrected", "benefit.corrected")),
        )
        .group_by(Event.subject_type, Event.subject_id)
    )
    return {(kind, entry_id): count for kind, entry_id, count in rows if entry_id is not None}


# --------------------------------------------------------------------------- the tabs


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
    """One KPI on the Measurement tab: its figures, its chart and its periods."""

    kpi: Kpi
    figures: KpiFigures
    chart: dict[str, Any]
    rows: list[PeriodRow]

    @property
    def missing_count(self) -> int:
        return sum(1 for r in self.rows if r.missing)


def measurement_panels(project: Project, *, period: Period, today: date) -> list[KpiPanel]:
    """Per KPI: its figures at ``period``, a chart, and its periods (newest first) with
    the measured value, whether it was due, and whether it is missing."""
    kpis = kpis_of(project.id)
    if not kpis:
        return []
    by_kpi: dict[int, dict[Period, Measurement]] = {k.id: {} for k in kpis}
    for measurement in measurements_of(by_kpi):
        by_kpi[measurement.kpi_id][Period.parse(measurement.period)] = measurement
    tracking = load_tracking([project.id], through=period).get(project.id)
    due: dict[int, dict[Period, bool]] = {k.id: {} for k in kpis}
    if tracking is not None:
        for kp in tracking.kpi_periods(through=period, today=today):
            due[kp.kpi_id][kp.period] = kp.missing
    figures = {k.kpi_id: k for k in figures_for(project, period).kpis}
    panels: list[KpiPanel] = []
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


def _recent(project_id: int, what: str) -> tuple[list[CostEntry | BenefitEntry], int]:
    """The newest entries of one kind (at most RECENT_ENTRIES) and how many there are."""
    query = money_entries(project_id, what, newest_first=True)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    return list(db.session.scalars(query.limit(RECENT_ENTRIES))), total or 0


@dataclass(frozen=True)
class MoneyView:
    """The Money tab: the figures, the ledger and its chart, the newest entries."""

    figures: ProjectFigures
    ledger: list[LedgerRow]
    chart: dict[str, Any] | None
    costs: tuple[list[CostEntry | BenefitEntry], int]
    benefits: tuple[list[CostEntry | BenefitEntry], int]
    corrections: dict[tuple[str, int], int]


def money_view(project: Project, *, period: Period, currency: str) -> MoneyView:
    """The ROI figures at ``period``, the per-period plan/actual ledger and the entries."""
    figures = figures_for(project, period)
    costs, benefits = load_money([project.id], None)[project.id]
    last = max([period, *(e.period for e in (*costs, *benefits))])
    ledger = money_ledger(costs, benefits, through=last, actual_through=clock.current_period())
    return MoneyView(
        figures=figures,
        ledger=ledger,
        chart=charts.money_chart(ledger, currency) if ledger else None,
        costs=_recent(project.id, "cost"),
        benefits=_recent(project.id, "benefit"),
        corrections=money_corrections(project.id),
    )


# --------------------------------------------------------------------------- portfolio totals
# The dashboard, the exports and the API all take their portfolio and per-program totals
# from here, so they cannot disagree. Portfolio ROI % is computed from the summed net
# benefit and cost (not an average of project ROIs); coverage from summed KPI-period counts.


@dataclass(frozen=True)
class SumSource:
    """Where sums over a period's snapshots come from: the stored totals of one scope
    (:class:`~crmphase.metrics.models.SnapshotTotals`, one row per period, program or
    department), or the snapshots themselves when no stored scope fits the filter (one
    program's snapshots of one department). Both tables name the summed columns alike."""

    table: type[RoiSnapshot] | type[SnapshotTotals]
    conditions: tuple[sa.ColumnElement[bool], ...]
    projects: sa.ColumnElement[Any]
    measured_projects: sa.ColumnElement[Any]

    @property
    def period(self) -> sa.SQLColumnExpression[str]:
        return self.table.period

    @property
    def program_id(self) -> sa.SQLColumnExpression[int | None]:
        return self.table.program_id

    def sum(self, column: str) -> sa.ColumnElement[Any]:
        return sa.func.sum(getattr(self.table, column))

    def where(self, query: AnySelect) -> AnySelect:
        return query.where(*self.conditions)


def sum_source(
    program_id: int | None = None, department: str | None = None, *, per_program: bool = False
) -> SumSource:
    """The cheapest source of the sums for the filter; ``per_program``: sums that will be
    grouped by program."""
    S, T = RoiSnapshot, SnapshotTotals
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


def snapshot_source(*conditions: sa.ColumnElement[bool]) -> SumSource:
    """Sums over the snapshots themselves (with ``conditions``)."""
    S = RoiSnapshot
    measured = sa.func.sum(sa.case((S.measured, 1), else_=0))
    return SumSource(S, conditions, sa.func.count(S.id), measured)


def totals_columns(source: SumSource | None = None) -> tuple[sa.Label[Any], ...]:
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


def row_to_totals(period: Period, row: AnyRow) -> Totals:
    """:class:`Totals` from a row with the columns of :func:`totals_columns`."""
    money = summed_money
    return Totals(
        period=period,
        projects=int(row.projects or 0),
        measured_projects=int(row.measured or 0),
        actual=MoneyTotals(
            money(row.a_cost), money(row.a_benefit), money(row.a_net), money(row.a_npv)
        ),
        plan=MoneyTotals(
            money(row.p_cost), money(row.p_benefit), money(row.p_net), money(row.p_npv)
        ),
        coverage=Coverage(measured=int(row.measured_kpis or 0), due=int(row.due or 0)),
    )


def portfolio_totals(
    period: Period, *, program_id: int | None = None, department: str | None = None
) -> Totals:
    """Totals of every snapshot of ``period`` (optionally one program or department)."""
    source = sum_source(program_id, department)
    query = source.where(sa.select(*totals_columns(source)).where(source.period == str(period)))
    return row_to_totals(period, db.session.execute(query).one())


def totals_by_program(
    period: Period, *, program_id: int | None = None, department: str | None = None
) -> list[tuple[int, str, Totals]]:
    """``(program_id, program_name, totals)`` per program with snapshots in ``period``."""
    source = sum_source(program_id, department, per_program=True)
    query = source.where(
        sa.select(Program.id, Program.name, *totals_columns(source))
        .join(Program, Program.id == source.program_id)
        .where(source.period == str(period))
        .group_by(Program.id, Program.name)
        .order_by(Program.name)
    )
    return [(row.id, row.name, row_to_totals(period, row)) for row in db.session.execute(query)]


# --------------------------------------------------------------------------- snapshots


def snapshot_subjects(period: Period) -> list[SnapshotSubject]:
    """The projects that get a snapshot for ``period``: every project that is not killed
    or retired now (active or on hold, so held projects' costs stay in the portfolio) and
    existed by the end of the period, plus any project that already has one (a rerun
    updates it even if the project was killed since)."""
    end_of_period = datetime.combine(period.next().first_day, time.min, tzinfo=clock.timezone())
    has_snapshot = sa.select(RoiSnapshot.project_id).where(RoiSnapshot.period == str(period))
    query = (
        sa.select(
            Project.id,
            Project.program_id,
            Project.department,
            Project.phase,
            Project.state,
            Project.budget,
        )
        .where(
            sa.or_(
                sa.and_(
                    Project.state.not_in(CLOSED_STATES),
                    Project.created_at < end_of_period.astimezone(UTC),
                ),
                Project.id.in_(has_snapshot),
            )
        )
        .order_by(Project.id)
    )
    return [SnapshotSubject(*row) for row in db.session.execute(query)]


def snapshots_of(period: Period, project_ids: list[int]) -> dict[int, RoiSnapshot]:
    """The stored snapshots of ``period`` of these projects, by project."""
    if not project_ids:
        return {}
    return {
        s.project_id: s
        for s in db.session.scalars(
            sa.select(RoiSnapshot).where(
                RoiSnapshot.period == str(period), RoiSnapshot.project_id.in_(project_ids)
            )
        )
    }


def snapshots_query(
    period: str | None = None,
    program_id: int | None = None,
    project_id: int | None = None,
    status: str | None = None,
) -> sa.Select[RoiSnapshot]:
    """ROI snapshots, newest period first, then by project."""
    query = sa.select(RoiSnapshot).order_by(RoiSnapshot.period.desc(), RoiSnapshot.project_id)
    if period:
        query = query.where(RoiSnapshot.period == period)
    if program_id:
        query = query.where(RoiSnapshot.program_id == program_id)
    if project_id:
        query = query.where(RoiSnapshot.project_id == project_id)
    if status:
        query = query.where(RoiSnapshot.status == status)
    return query


# --------------------------------------------------------------------------- alerts


def _person(user: User) -> Person:
    return Person(user.id, user.email, user.active)


def watched_projects() -> list[WatchedProject]:
    """The projects the daily check looks at (not killed or retired), with their people."""
    projects = db.session.scalars(
        sa.select(Project)
        .where(Project.state.not_in(CLOSED_STATES))
        .options(
            selectinload(Project.manager),
            selectinload(Project.program).selectinload(Program.crmo),
            selectinload(Project.program).selectinload(Program.steering_members),
        )
        .order_by(Project.id)
    )
    return [
        WatchedProject(
            id=p.id,
            name=p.name,
            phase=p.phase,
            state=p.state,
            budget=p.budget,
            phase_entered_on=p.phase_entered_on,
            last_review_on=p.last_review_on,
            manager=_person(p.manager),
            program_crmo=_person(p.program.crmo) if p.program.crmo else None,
            steering_members=tuple(_person(u) for u in p.program.steering_members),
        )
        for p in projects
    ]


def active_crmos() -> list[Person]:
    """Every active CRMO (the fallback when a program has none)."""
    crmos = db.session.scalars(
        sa.select(User).where(User.role == Role.CRMO.value, User.active).order_by(User.id)
    )
    return [_person(u) for u in crmos]


def kpi_contacts(project_ids: list[int]) -> dict[int, KpiContact]:
    """The KPIs of the projects by id, each with its owner."""
    if not project_ids:
        return {}
    return {
        kpi.id: KpiContact(kpi.id, kpi.name, _person(kpi.owner) if kpi.owner else None)
        for kpi in db.session.scalars(
            sa.select(Kpi).where(Kpi.project_id.in_(project_ids)).options(selectinload(Kpi.owner))
        )
    }


def pending_reviews(project_ids: list[int]) -> list[PendingReview]:
    """The projects' gate reviews waiting for a decision, each with its (local) day."""
    if not project_ids:
        return []
    local = clock.timezone()
    return [
        PendingReview(r.id, r.project_id, r.phase, r.requested_at.astimezone(local).date())
        for r in db.session.scalars(
            sa.select(GateReview)
            .where(GateReview.status == "pending", GateReview.project_id.in_(project_ids))
            .order_by(GateReview.id)
        )
    ]


def open_alerts() -> list[Alert]:
    """Every open alert."""
    return list(db.session.scalars(sa.select(Alert).where(Alert.resolved_at.is_(None))))


def resolved_alerts(project_ids: Iterable[int]) -> list[Alert]:
    """The resolved alerts of the projects (a condition that comes back reopens its row)."""
    return list(
        db.session.scalars(
            sa.select(Alert).where(
                Alert.resolved_at.is_not(None), Alert.project_id.in_(set(project_ids))
            )
        )
    )


def alerts_query(
    *,
    open_only: bool | None = None,
    kind: str | None = None,
    project_id: int | None = None,
    period: str | None = None,
    program_id: int | None = None,
) -> sa.Select[Alert]:
    """Alerts, newest first; ``open_only`` True (open), False (resolved) or None (all)."""
    query = sa.select(Alert).order_by(Alert.opened_at.desc(), Alert.id.desc())
    if open_only is True:
        query = query.where(Alert.resolved_at.is_(None))
    elif open_only is False:
        query = query.where(Alert.resolved_at.is_not(None))
    if kind:
        query = query.where(Alert.kind == kind)
    if project_id:
        query = query.where(Alert.project_id == project_id)
    if period:
        query = query.where(Alert.period == period)
    if program_id:
        query = query.where(
            Alert.project_id.in_(sa.select(Project.id).where(Project.program_id == program_id))
        )
    return query


def open_alert_counts() -> dict[str, int]:
    """How many alerts of each kind are open (0 for a kind without any)."""
    rows = db.session.execute(
        sa.select(Alert.kind, sa.func.count(Alert.id))
        .where(Alert.resolved_at.is_(None))
        .group_by(Alert.kind)
    )
    return defaultdict(int, dict(rows.all()))


def projects_by_id(ids: Collection[int]) -> dict[int, Project]:
    """The projects of ``ids`` by id (for the names next to alerts)."""
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(sa.select(Project).where(Project.id.in_(ids)))}


# --------------------------------------------------------------------------- CSV import


def template_rows(actor: User, period: Period) -> list[tuple[str, str]]:
    """``(project, kpi)`` names of every KPI the actor may record in a tracked project
    (active, in execute or manage), for a CSV template to fill in."""
    kpis = db.session.scalars(
        sa.select(Kpi)
        .join(Project, Project.id == Kpi.project_id)
        .where(Project.state == "active", Project.phase.in_(("execute", "manage")))
        .options(selectinload(Kpi.project).selectinload(Project.program))
        .order_by(Project.name, Kpi.name)
    ).all()
    counts: dict[str, int] = {}
    for (name,) in db.session.execute(sa.select(Project.name)):
        counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
    rows: list[tuple[str, str]] = []
    for kpi in kpis:
        if not can(actor, Action.MEASUREMENT_RECORD, kpi):
            continue
        project = kpi.project
        name = project.name
        if counts.get(name.casefold(), 0) > 1:
            name = f"{project.program.name}{imports.PROGRAM_SEPARATOR}{project.name}"
        rows.append((name, kpi.name))
    return rows
