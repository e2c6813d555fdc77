"""Every read behind the dashboard, its lists and its API.

Totals, trends and the KPI status chart read the stored sums of each period's ROI
snapshots (:class:`~crmphase.metrics.models.SnapshotTotals`: one row per period, program
or department); the work lists read one period's snapshots, or the current projects,
reviews and alerts; the trends read a window of periods with one GROUP BY.
The number of statements never depends on how many projects or periods there are.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from math import ceil
from typing import Any

import sqlalchemy as sa

from crmphase.auth.models import User
from crmphase.auth.rules import Action, can
from crmphase.dashboard.rules import (
    ROI_TREND_MONTHS,
    ROI_TREND_PROGRAMS,
    TREND_MONTHS,
    DashboardFilters,
    age_in_days,
    review_overdue_cutoff,
)
from crmphase.database import AnyRow, AnySelect
from crmphase.extensions import db
from crmphase.metrics.loaders import row_to_totals, sum_source, totals_by_program, totals_columns
from crmphase.metrics.models import Alert, RoiSnapshot
from crmphase.metrics.roi import Coverage, roi_pct
from crmphase.metrics.rules import KPI_STATUSES, Totals, attainment_rank, entry_status, kpi_entries
from crmphase.money import summed_money
from crmphase.periods import Period, period_range
from crmphase.phases.models import GateReview
from crmphase.programs.models import Program, Project

S = RoiSnapshot
ZERO = Decimal("0.00")
TOP = 5  # items of each work list shown on the dashboard itself


_money = summed_money


def _snapshots_in(query: AnySelect, f: DashboardFilters) -> AnySelect:
    if f.program_id:
        query = query.where(S.program_id == f.program_id)
    if f.department:
        query = query.where(S.department == f.department)
    return query


def _projects_in(query: AnySelect, program: bool, department: bool) -> AnySelect:
    """``query`` narrowed to the projects of a program and of a department, their values
    bound when it runs (``:program_id``, ``:department``, from :func:`_filter_params`), so
    that a statement built once serves every value of the filters."""
    if program:
        query = query.where(Project.program_id == sa.bindparam("program_id"))
    if department:
        query = query.where(Project.department == sa.bindparam("department"))
    return query


def _filter_params(f: DashboardFilters) -> dict[str, object]:
    """The values of ``f`` that the statements bind (see :func:`_projects_in`)."""
    params: dict[str, object] = {"period": str(f.period)}
    if f.program_id:
        params["program_id"] = f.program_id
    if f.department:
        params["department"] = f.department
    return params


def _shape(f: DashboardFilters) -> tuple[bool, bool]:
    """Which of the filters narrow the projects: what a statement's shape depends on."""
    return bool(f.program_id), bool(f.department)


def program_choices() -> list[tuple[int, str]]:
    """``(id, name)`` of every program, by name: the filter bar's choices."""
    return [
        (program_id, name)
        for program_id, name in db.session.execute(
            sa.select(Program.id, Program.name).order_by(Program.name)
        )
    ]


# --- paging of row queries -------------------------------------------------------------


@dataclass
class RowPage:
    """A page of rows, with the attributes the ``pager`` macro reads."""

    items: Sequence[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(ceil(self.total / self.per_page), 1) if self.per_page else 1

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


@dataclass(frozen=True)
class BoundQuery:
    """A statement built once per shape of the filters, with its values bound.

    The heaviest work lists are built this way: SQLAlchemy works out a new statement's
    cache key on every execution, which for their subqueries cost more than running them;
    a statement built once keeps its key."""

    statement: AnySelect
    params: dict[str, object]

    def work_list(self, top: int) -> AnySelect:
        return _cached_with_total(self.statement, top)


def _with_total(statement: AnySelect, top: int) -> AnySelect:
    """The first ``top`` rows of ``statement``, each with the count of all (a window count)."""
    return statement.add_columns(sa.func.count().over().label("total_rows")).limit(top)


# Only for statements that live as long as the app (the cached builders below).
_cached_with_total = functools.cache(_with_total)


def _unbound(query: BoundQuery | AnySelect) -> tuple[AnySelect, dict[str, object]]:
    if isinstance(query, BoundQuery):
        return query.statement, query.params
    return query, {}


def count_rows(query: BoundQuery | AnySelect) -> int:
    statement, params = _unbound(query)
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(statement.order_by(None).subquery()), params
    )
    return count or 0  # a count always has its one row


def paginate_rows(query: BoundQuery | AnySelect, page: int, per_page: int) -> RowPage:
    """Two statements: the count and the page (pages past the end come back empty)."""
    page = max(page, 1)
    total = count_rows(query)
    statement, params = _unbound(query)
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page), params).all()
    return RowPage(list(rows), page, per_page, total)


def paginate_list(items: Sequence[Any], page: int, per_page: int) -> RowPage:
    page = max(page, 1)
    start = (page - 1) * per_page
    return RowPage(items[start : start + per_page], page, per_page, len(items))


# --- trends ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CoveragePoint:
    period: Period
    coverage: Coverage


@dataclass(frozen=True)
class MoneyPoint:
    """Portfolio cumulative cost and benefit at the end of a period, actual and plan."""

    period: Period
    projects: int
    actual_cost: Decimal
    actual_benefit: Decimal
    plan_cost: Decimal
    plan_benefit: Decimal


def trends(f: DashboardFilters) -> tuple[list[CoveragePoint], list[MoneyPoint]]:
    """Both trends in one statement: the measurement coverage of each of the
    ``TREND_MONTHS`` periods ending with ``f.period`` (a period without snapshots has
    nothing due), and the cumulative cost and benefit, actual and plan, of each of the
    ``ROI_TREND_MONTHS`` periods ending with it that has snapshots."""
    coverage_from = f.period.shift(-(TREND_MONTHS - 1))
    money_from = f.period.shift(-(ROI_TREND_MONTHS - 1))
    source = sum_source(f.program_id, f.department)
    query = source.where(
        sa.select(
            source.period,
            source.projects,
            source.sum("actual_cumulative_cost"),
            source.sum("actual_cumulative_benefit"),
            source.sum("plan_cumulative_cost"),
            source.sum("plan_cumulative_benefit"),
            sa.func.coalesce(source.sum("due_count"), 0),
            sa.func.coalesce(source.sum("measured_count"), 0),
        )
        .where(source.period >= str(min(coverage_from, money_from)))
        .where(source.period <= str(f.period))
        .group_by(source.period)
        .order_by(source.period)
    )
    money: list[MoneyPoint] = []
    counts: dict[Period, tuple[int, int]] = {}
    for row in db.session.execute(query):
        period = Period.parse(row[0])
        counts[period] = (int(row[6]), int(row[7]))
        if period >= money_from:
            money.append(MoneyPoint(period, int(row[1]), *(_money(value) for value in row[2:6])))
    coverage = []
    for period in period_range(coverage_from, f.period):
        due, measured = counts.get(period, (0, 0))
        coverage.append(CoveragePoint(period, Coverage(measured=min(measured, due), due=due)))
    return coverage, money


OTHER_PROGRAMS = "All other programs"


@dataclass
class ProgramRoiSeries:
    program_id: int | None  # None: the other programs, summed
    name: str
    points: list[tuple[Period, Decimal | None]] = field(default_factory=list)


def largest_programs(f: DashboardFilters, count: int) -> WorkList:
    """The ``count`` programs with the largest actual cumulative cost in ``f.period``, as
    ``(program_id, name, Totals)``, and how many programs have snapshots in the period."""
    source = sum_source(f.program_id, f.department, per_program=True)
    query = source.where(
        sa.select(
            Program.id,
            Program.name,
            *totals_columns(source),
            sa.func.count().over().label("total_rows"),
        )
        .join(Program, Program.id == source.program_id)
        .where(source.period == str(f.period))
        .group_by(Program.id, Program.name)
        .order_by(source.sum("actual_cumulative_cost").desc(), Program.id)
        .limit(count)
    )
    rows = db.session.execute(query).all()
    return WorkList(
        rows[0].total_rows if rows else 0,
        [(row.id, row.name, row_to_totals(f.period, row)) for row in rows],
    )


def program_totals_page(f: DashboardFilters, page: int, per_page: int) -> RowPage:
    """Every program's totals for ``f``, by name, a page at a time."""
    rows = totals_by_program(f.period, program_id=f.program_id, department=f.department)
    return paginate_list(rows, page, per_page)


def roi_trend_by_program(
    f: DashboardFilters, totals: list[MoneyPoint], largest: WorkList
) -> list[ProgramRoiSeries]:
    """Actual ROI % (summed net over summed cost, as the portfolio totals compute it) in
    each period of ``totals`` (:func:`trends`) of the ``largest`` programs
    (:func:`largest_programs`), and of all other programs together: a line
    per program stops being readable long before a portfolio's 200 programs, and every
    program's figures are in the table beside the chart.

    The other programs' sums are the period's totals less the shown programs' (a
    snapshot's net benefit is its benefit less its cost), so only the shown programs'
    per-program totals are read.
    """
    shown = [program_id for program_id, _name, _totals in largest.items]
    periods = [str(point.period) for point in totals]
    source = sum_source(f.program_id, f.department, per_program=True)
    query = source.where(
        sa.select(
            Program.id,
            Program.name,
            source.period,
            source.projects,
            source.sum("actual_net_benefit"),
            source.sum("actual_cumulative_cost"),
        )
        .join(Program, Program.id == source.program_id)
        .where(source.period.in_(periods), source.program_id.in_(shown))
        .group_by(Program.id, Program.name, source.period)
        .order_by(Program.name, Program.id, source.period)
    )
    series: dict[int, ProgramRoiSeries] = {}
    shown_sums: dict[str, list[Any]] = {period: [0, ZERO, ZERO] for period in periods}
    for program_id, name, period, count, net, cost in db.session.execute(query):
        net, cost = _money(net), _money(cost)
        entry = series.setdefault(program_id, ProgramRoiSeries(program_id, name))
        entry.points.append((Period.parse(period), roi_pct(net, cost)))
        sums = shown_sums[period]
        sums[0] += int(count)
        sums[1] += net
        sums[2] += cost
    others = ProgramRoiSeries(None, OTHER_PROGRAMS)
    for point in totals:
        count, net, cost = shown_sums[str(point.period)]
        if point.projects > count:
            other_cost = point.actual_cost - cost
            other_net = point.actual_benefit - point.actual_cost - net
            others.points.append((point.period, roi_pct(other_net, other_cost)))
    return [*series.values(), *([others] if others.points else [])]


# --- where projects stand now ------------------------------------------------------------


def funnel(f: DashboardFilters) -> dict[tuple[str, str], int]:
    """Current projects per (phase, state)."""
    query = _projects_in(
        sa.select(Project.phase, Project.state, sa.func.count(Project.id)).group_by(
            Project.phase, Project.state
        ),
        *_shape(f),
    )
    rows = db.session.execute(query, _filter_params(f))
    return {(phase, state): int(n) for phase, state, n in rows}


def ownership(f: DashboardFilters) -> dict[tuple[str, str], int]:
    """Active projects per (department, phase): who owns which part of CRM."""
    query = _projects_in(
        sa.select(Project.department, Project.phase, sa.func.count(Project.id))
        .where(Project.state == "active")
        .group_by(Project.department, Project.phase),
        *_shape(f),
    )
    rows = db.session.execute(query, _filter_params(f))
    return {(dept, phase): int(n) for dept, phase, n in rows}


# --- work lists ------------------------------------------------------------------------


def snapshots_query(f: DashboardFilters) -> AnySelect:
    """The period's project snapshots, with project and program names, by project name."""
    return _snapshots_in(
        sa.select(S, Project.name.label("project_name"), Program.name.label("program_name"))
        .join(Project, Project.id == S.project_id)
        .join(Program, Program.id == S.program_id)
        .where(S.period == str(f.period))
        .order_by(Program.name, Project.name),
        f,
    )


def overruns_query(f: DashboardFilters) -> AnySelect:
    """Projects whose actual cumulative cost exceeds their budget in the period, worst
    overrun first."""
    overrun = (S.actual_cumulative_cost - S.budget).label("overrun")
    return _snapshots_in(
        sa.select(
            S.project_id,
            Project.name.label("project_name"),
            Program.name.label("program_name"),
            S.department,
            S.phase,
            S.budget,
            S.actual_cumulative_cost,
            S.plan_cumulative_cost,
            overrun,
        )
        .join(Project, Project.id == S.project_id)
        .join(Program, Program.id == S.program_id)
        .where(
            S.period == str(f.period),
            S.budget.is_not(None),
            S.actual_cumulative_cost > S.budget,
        )
        .order_by(overrun.desc(), Project.name),
        f,
    )


def unmeasured_query(f: DashboardFilters, *, manager_id: int | None = None) -> BoundQuery:
    """Projects with missing measurements: an open missing-measurement alert for the
    period or earlier, or fewer KPIs measured than due in the period's snapshot.
    Oldest missing period first."""
    params = _filter_params(f)
    if manager_id is not None:
        params["manager_id"] = manager_id
    statement = _unmeasured_statement(*_shape(f), manager_id is not None)
    return BoundQuery(statement, params)


@functools.cache
def _unmeasured_statement(program: bool, department: bool, mine: bool) -> AnySelect:
    period = sa.bindparam("period", type_=sa.String)
    alerts = (
        sa.select(
            Alert.project_id,
            sa.func.count(Alert.id).label("missing"),
            sa.func.min(Alert.period).label("oldest"),
        )
        .where(
            Alert.kind == "missing_measurement",
            Alert.resolved_at.is_(None),
            Alert.period <= period,
        )
        .group_by(Alert.project_id)
        .subquery()
    )
    snap = (
        sa.select(S.project_id, S.due_count, S.measured_count).where(S.period == period).subquery()
    )
    # The projects to list: with an open alert, or measured short in the period. Starting
    # from these (rather than testing every project) keeps the statement's cost with them.
    candidates = sa.union(
        sa.select(alerts.c.project_id),
        sa.select(S.project_id).where(S.period == period, S.due_count > S.measured_count),
    )
    oldest = sa.func.coalesce(alerts.c.oldest, period)
    query = _projects_in(
        sa.select(
            Project.id.label("project_id"),
            Project.name.label("project_name"),
            Program.name.label("program_name"),
            Project.department,
            Project.phase,
            User.name.label("manager_name"),
            sa.func.coalesce(alerts.c.missing, 0).label("missing"),
            oldest.label("oldest"),
            snap.c.due_count,
            snap.c.measured_count,
        )
        .join(Program, Program.id == Project.program_id)
        .join(User, User.id == Project.manager_id)
        .outerjoin(alerts, alerts.c.project_id == Project.id)
        .outerjoin(snap, snap.c.project_id == Project.id)
        .where(Project.id.in_(candidates))
        .order_by(oldest, Project.name),
        program,
        department,
    )
    if mine:
        query = query.where(Project.manager_id == sa.bindparam("manager_id"))
    return query


@dataclass(frozen=True)
class OffTrackKpi:
    project_id: int
    project_name: str
    program_name: str
    name: str
    unit: str
    latest: str | None
    attainment: str | None
    expected: str | None


def _kpi_details_query(f: DashboardFilters) -> AnySelect:
    return _snapshots_in(
        sa.select(S.project_id, Project.name, Program.name, S.kpi_details)
        .join(Project, Project.id == S.project_id)
        .join(Program, Program.id == S.program_id)
        .where(S.period == str(f.period))
        .order_by(Project.name),
        f,
    )


def kpi_details_of_period(f: DashboardFilters) -> Sequence[AnyRow]:
    """``(project_id, project_name, program_name, kpi_details)`` of the period's snapshots."""
    return db.session.execute(_kpi_details_query(f)).all()


def period_totals(f: DashboardFilters) -> tuple[Totals, dict[str, int]]:
    """The period's totals, and how many of its KPIs are on track, at risk, off track and
    without data (the sums of the snapshots' tallies), in one statement."""
    source = sum_source(f.program_id, f.department)
    tally = ("on_track_kpis", "at_risk_kpis", "off_track_kpis", "no_data_kpis")
    row = db.session.execute(
        source.where(
            sa.select(
                *totals_columns(source),
                *(sa.func.coalesce(source.sum(column), 0).label(column) for column in tally),
            ).where(source.period == str(f.period))
        )
    ).one()
    counts = {
        status: int(getattr(row, column))
        for status, column in zip(KPI_STATUSES, tally, strict=True)
    }
    return row_to_totals(f.period, row), counts


def least_attained_off_track(f: DashboardFilters, top: int) -> list[OffTrackKpi]:
    """The ``top`` least attained off-track KPIs of the period, as :func:`off_track_kpis`
    orders them, decoding only the snapshots that can hold them: those whose least
    off-track attainment is at most the ``top``-th least of the period (ties included)."""
    holding = _snapshots_in(
        sa.select(S.least_off_track_attainment).where(
            S.period == str(f.period), S.least_off_track_attainment.is_not(None)
        ),
        f,
    )
    threshold = db.session.scalar(
        holding.order_by(S.least_off_track_attainment).offset(top - 1).limit(1)
    )
    query = _kpi_details_query(f).where(S.off_track_kpis > 0)
    if threshold is not None:
        # Off-track KPIs without an attainment sort last; fewer than ``top`` snapshots
        # with one means every snapshot with an off-track KPI is read.
        query = query.where(S.least_off_track_attainment <= threshold)
    return off_track_kpis(db.session.execute(query).all())[:top]


def off_track_kpis(rows: Iterable[AnyRow], status: str = "off_track") -> list[OffTrackKpi]:
    """The KPIs of ``status`` (default: off track) among the rows of
    :func:`kpi_details_of_period`, least attained first. An unknown status in a snapshot
    counts as no data, as in the KPI status chart."""
    found: list[OffTrackKpi] = []
    for project_id, project_name, program_name, details in rows:
        for kpi in kpi_entries(details):
            if entry_status(kpi) != status:
                continue
            found.append(
                OffTrackKpi(
                    project_id,
                    project_name,
                    program_name,
                    str(kpi.get("name") or f"KPI {kpi.get('kpi_id', '?')}"),
                    str(kpi.get("unit") or ""),
                    None if kpi.get("latest") is None else str(kpi["latest"]),
                    None if kpi.get("attainment") is None else str(kpi["attainment"]),
                    None if kpi.get("expected") is None else str(kpi["expected"]),
                )
            )
    found.sort(key=lambda k: (attainment_rank(k.attainment), k.project_name, k.name))
    return found


def pending_reviews_query(f: DashboardFilters, *, decider: User | None = None) -> BoundQuery:
    """Gate reviews waiting for a decision, oldest request first. With ``decider``: only
    those that user may decide (nobody decides a gate of a project they manage)."""
    params = _filter_params(f)
    if decider is not None:
        params["decider_id"] = decider.id
    return BoundQuery(_pending_statement(*_shape(f), decider is not None), params)


@functools.cache
def _pending_statement(program: bool, department: bool, mine: bool) -> AnySelect:
    query = _projects_in(
        sa.select(
            GateReview.id.label("review_id"),
            GateReview.project_id,
            GateReview.phase,
            GateReview.requested_at,
            Project.name.label("project_name"),
            Program.name.label("program_name"),
            User.name.label("requested_by"),
        )
        .join(Project, Project.id == GateReview.project_id)
        .join(Program, Program.id == Project.program_id)
        .join(User, User.id == GateReview.requested_by_id)
        .where(GateReview.status == "pending")
        .order_by(GateReview.requested_at, GateReview.id),
        program,
        department,
    )
    if mine:
        query = query.where(Project.manager_id != sa.bindparam("decider_id"))
    return query


def overdue_reviews_query(f: DashboardFilters, today: date) -> BoundQuery:
    """Active manage projects whose periodic review (every three months) is overdue,
    longest overdue first."""
    params = _filter_params(f) | {"cutoff": review_overdue_cutoff(today)}
    return BoundQuery(_overdue_statement(*_shape(f)), params)


@functools.cache
def _overdue_statement(program: bool, department: bool) -> AnySelect:
    since = sa.func.coalesce(Project.last_review_on, Project.phase_entered_on)
    return _projects_in(
        sa.select(
            Project.id.label("project_id"),
            Project.name.label("project_name"),
            Program.name.label("program_name"),
            Project.department,
            User.name.label("manager_name"),
            since.label("since"),
        )
        .join(Program, Program.id == Project.program_id)
        .join(User, User.id == Project.manager_id)
        .where(
            Project.phase == "manage",
            Project.state == "active",
            since <= sa.bindparam("cutoff", type_=sa.Date),
        )
        .order_by(since, Project.name),
        program,
        department,
    )


def with_age(rows: Iterable[AnyRow], attribute: str, today: date) -> list[dict[str, Any]]:
    """Rows as dicts with ``age_days`` counted from ``attribute``."""
    return [
        dict(row._mapping, age_days=age_in_days(getattr(row, attribute), today)) for row in rows
    ]


# --- the whole dashboard -------------------------------------------------------------------


@dataclass
class WorkList:
    total: int
    items: Sequence[Any]


@dataclass
class Dashboard:
    filters: DashboardFilters
    today: date
    totals: Totals
    active_projects: int
    coverage_trend: list[CoveragePoint]
    money_trend: list[MoneyPoint]
    roi_trend: list[ProgramRoiSeries]
    by_program: WorkList  # the largest programs, (program_id, name, Totals), and the count
    funnel: dict[tuple[str, str], int]
    ownership: dict[tuple[str, str], int]
    kpi_status: dict[str, int]
    unmeasured: WorkList
    off_track: WorkList
    pending_reviews: WorkList
    overdue_reviews: WorkList
    overruns: WorkList
    mine_unmeasured: WorkList | None = None
    waiting_for_me: WorkList | None = None

    @property
    def has_snapshots(self) -> bool:
        return self.totals.projects > 0


def _work_list(query: BoundQuery | AnySelect, top: int = TOP) -> WorkList:
    """The first ``top`` rows and the count of all, in one statement (a window count)."""
    if isinstance(query, BoundQuery):
        statement, params = query.work_list(top), query.params
    else:
        statement, params = _with_total(query, top), {}
    rows = db.session.execute(statement, params).all()
    return WorkList(rows[0].total_rows if rows else 0, rows)


def build_dashboard(
    f: DashboardFilters, *, today: date, user: User | None = None, top: int = TOP
) -> Dashboard:
    """Every figure of the dashboard for ``f``, in a fixed number of statements."""
    totals, kpi_status = period_totals(f)
    coverage, money = trends(f)
    largest = largest_programs(f, ROI_TREND_PROGRAMS)
    active = db.session.scalar(
        _projects_in(
            sa.select(sa.func.count(Project.id)).where(Project.state == "active"), *_shape(f)
        ),
        _filter_params(f),
    )
    pending = _work_list(pending_reviews_query(f), top)
    pending.items = with_age(pending.items, "requested_at", today)
    overdue = _work_list(overdue_reviews_query(f, today), top)
    overdue.items = with_age(overdue.items, "since", today)
    dashboard = Dashboard(
        filters=f,
        today=today,
        totals=totals,
        active_projects=int(active or 0),
        coverage_trend=coverage,
        money_trend=money,
        roi_trend=roi_trend_by_program(f, money, largest),
        by_program=largest,
        funnel=funnel(f),
        ownership=ownership(f),
        kpi_status=kpi_status,
        unmeasured=_work_list(unmeasured_query(f), top),
        off_track=WorkList(kpi_status["off_track"], least_attained_off_track(f, top)),
        pending_reviews=pending,
        overdue_reviews=overdue,
        overruns=_work_list(overruns_query(f), 10),
    )
    if user is not None and can(user, Action.PROJECT_LIST_OWN):
        dashboard.mine_unmeasured = _work_list(unmeasured_query(f, manager_id=user.id), top)
    if user is not None and can(user, Action.GATE_DECIDE):
        mine = _work_list(pending_reviews_query(f, decider=user), top)
        mine.items = with_age(mine.items, "requested_at", today)
        dashboard.waiting_for_me = mine
    return dashboard
