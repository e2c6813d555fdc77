"""The rules of ongoing measurement (SPEC §2, §4), as plain functions.

- **tracking**: when a project is tracked, when a KPI is due, measured or missing;
- **figures**: every SPEC §4 figure of one project for one period (from :mod:`roi`), its
  status, and the money ledger of the Money tab;
- **KPI tally**: how many of a snapshot's KPIs are on track, at risk, off track, no data;
- **snapshots**: the columns a snapshot stores and which of them a rerun changed;
- **alerts and reminders**: which alerts should be open on a day, which open ones resolve,
  and which reminders are due.

Pure: dataclasses, ``Decimal`` and ``date`` in, results out. No Flask, no database, no clock;
:mod:`crmphase.metrics.loaders` reads what these rules take, :mod:`crmphase.metrics.services`
writes what they decide.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol

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
    roi_pct,
    variance,
)
from crmphase.money import AmountError, parse_decimal, round_half_up, to_decimal
from crmphase.periods import Period, period_range
from crmphase.phases.rules import Phase, ProjectState, next_review_due, review_overdue

# --------------------------------------------------------------------------- tracking

TRACKED_PHASES = frozenset({"execute", "manage"})

Tracked = Callable[[Period], bool]
"""Answers "was the KPI's project active and in execute or manage during this period?".

A set of periods works as ``periods.__contains__``.
"""


@dataclass(frozen=True)
class PositionChange:
    """From day ``at`` on, the project was in ``phase`` with ``state``."""

    at: date
    phase: str
    state: str


def position_history(
    created_on: date,
    phase_entered_on: date,
    phase: str,
    state: str,
    decisions: Sequence[PositionChange],
) -> list[PositionChange]:
    """A project's positions over time: from its decisions when it has any, else its
    current position since it entered its phase (projects loaded in a phase directly)."""
    if not decisions:
        return [PositionChange(min(created_on, phase_entered_on), phase, state)]
    return [PositionChange(created_on, "strategize", "active"), *decisions]


def tracked_periods(
    changes: Sequence[PositionChange], through: Period, since: Period | None = None
) -> frozenset[Period]:
    """The periods from ``since`` (default: the first change) to ``through`` during which
    the project was, on at least one day, active in execute or manage."""
    ordered = sorted(changes, key=lambda c: c.at)
    periods: set[Period] = set()
    end_of_time = through.last_day
    first_day = since.first_day if since is not None else None
    for index, change in enumerate(ordered):
        if change.state != "active" or change.phase not in TRACKED_PHASES:
            continue
        until = (
            ordered[index + 1].at - timedelta(days=1) if index + 1 < len(ordered) else end_of_time
        )
        until = min(until, end_of_time)
        start = change.at if first_day is None else max(change.at, first_day)
        if until < start:
            continue
        periods.update(period_range(Period.of(start), Period.of(until)))
    return frozenset(periods)


class Schedule(Protocol):
    """What decides when a KPI is due: its baseline period and its cadence."""

    @property
    def baseline_period(self) -> Period | None: ...

    @property
    def cadence(self) -> Cadence: ...


@dataclass(frozen=True)
class KpiSchedule:
    """A KPI's :class:`Schedule`, with the KPI and its project."""

    kpi_id: int
    project_id: int
    baseline_period: Period | None
    cadence: Cadence


@dataclass(frozen=True)
class KpiPeriod:
    """A period in which a KPI was due, and whether it was measured or is missing."""

    kpi_id: int
    project_id: int
    period: Period
    measured: bool
    missing: bool


def cadence_includes(cadence: Cadence, period: Period) -> bool:
    """Monthly KPIs are measured every month, quarterly ones in March, June, Sept. and Dec."""
    return cadence == Cadence.MONTHLY or period.is_quarter_end


def is_due(kpi: Schedule, period: Period, tracked: Tracked) -> bool:
    """Due in P (SPEC §4): tracked in P, P at or after the baseline period, P in the cadence."""
    return (
        kpi.baseline_period is not None
        and period >= kpi.baseline_period
        and cadence_includes(kpi.cadence, period)
        and tracked(period)
    )


def due_periods(kpi: Schedule, first: Period, last: Period, tracked: Tracked) -> list[Period]:
    """The periods from ``first`` to ``last`` (inclusive) in which ``kpi`` is due."""
    if kpi.baseline_period is None:
        return []
    start = max(first, kpi.baseline_period)
    return [p for p in period_range(start, last) if is_due(kpi, p, tracked)]


def grace_ends(period: Period, grace_days: int) -> date:
    """The last day on which a measurement for ``period`` is still on time.

    That is ``grace_days`` days after the period's last day; from the next day on, an
    unmeasured due period is missing.
    """
    if grace_days < 0:
        raise ValueError("grace days cannot be negative")
    return period.last_day + timedelta(days=grace_days)


def is_missing(period: Period, measured: bool, today: date, grace_days: int, due: bool) -> bool:
    """Due, unmeasured, and ``today`` is after :func:`grace_ends`."""
    return due and not measured and today > grace_ends(period, grace_days)


def missing_periods(
    kpi: Schedule,
    measured_periods: set[Period] | frozenset[Period],
    today: date,
    grace_days: int,
    tracked: Tracked,
    first: Period | None = None,
) -> list[Period]:
    """Every period from ``first`` (default: the baseline period) whose measurement is missing."""
    return [
        kp.period
        for kp in kpi_periods(
            kpi,
            tracked,
            measured_periods,
            first=first,
            through=Period.of(today),
            today=today,
            grace_days=grace_days,
        )
        if kp.missing
    ]


def kpi_periods(
    kpi: Schedule,
    tracked: Tracked,
    measured: set[Period] | frozenset[Period],
    *,
    first: Period | None,
    through: Period,
    today: date,
    grace_days: int,
    kpi_id: int = 0,
    project_id: int = 0,
) -> list[KpiPeriod]:
    """Every period from ``first`` (default: the baseline) to ``through`` in which the KPI
    is due, whether it was measured, and whether it is missing (grace over, unmeasured)."""
    if kpi.baseline_period is None:
        return []
    return [
        KpiPeriod(
            kpi_id,
            project_id,
            period,
            measured=period in measured,
            missing=is_missing(period, period in measured, today, grace_days, due=True),
        )
        for period in due_periods(kpi, first or kpi.baseline_period, through, tracked)
    ]


def due_kpi_periods(
    kpi: KpiSchedule,
    tracked: Tracked,
    measured: frozenset[Period] | set[Period],
    *,
    first: Period | None,
    through: Period,
    today: date,
    grace_days: int,
) -> list[KpiPeriod]:
    """:func:`kpi_periods` of one :class:`KpiSchedule`, each naming its KPI and project."""
    return kpi_periods(
        kpi,
        tracked,
        measured,
        first=first,
        through=through,
        today=today,
        grace_days=grace_days,
        kpi_id=kpi.kpi_id,
        project_id=kpi.project_id,
    )


def coverage_of(kpi_periods: Iterable[KpiPeriod], period: Period | None = None) -> Coverage:
    """Measured due KPI-periods over due KPI-periods (for one period, or all given)."""
    selected = [kp for kp in kpi_periods if period is None or kp.period == period]
    return Coverage(measured=sum(kp.measured for kp in selected), due=len(selected))


@dataclass(frozen=True)
class ProjectTracking:
    """Everything needed to tell due, measured and missing KPI-periods of a project."""

    project_id: int
    grace_days: int
    tracked: frozenset[Period]
    kpis: tuple[KpiSchedule, ...]
    measured: Mapping[int, frozenset[Period]]

    def kpi_periods(
        self, *, through: Period, today: date, first: Period | None = None
    ) -> list[KpiPeriod]:
        """The due KPI-periods of every KPI of the project, up to ``through``."""
        periods: list[KpiPeriod] = []
        for kpi in self.kpis:
            periods.extend(
                due_kpi_periods(
                    kpi,
                    self.tracked.__contains__,
                    self.measured.get(kpi.kpi_id, frozenset()),
                    first=first,
                    through=through,
                    today=today,
                    grace_days=self.grace_days,
                )
            )
        return periods

    def missing(self, *, today: date, through: Period | None = None) -> list[KpiPeriod]:
        """The due KPI-periods up to ``through`` (default: today's) that are missing."""
        through = through or Period.of(today)
        return [kp for kp in self.kpi_periods(through=through, today=today) if kp.missing]


# --------------------------------------------------------------------------- measured values

MEASURED_VALUE_PLACES = 6
MAX_MEASURED_VALUE = Decimal(10) ** 14
MAX_NOTE = 2000  # characters of a note or a reason


def measured_value(value: object) -> Decimal:
    """A measured value: a finite number with at most 6 decimal places and at most 14
    digits before the point; :class:`~crmphase.money.AmountError` says why not."""
    number = parse_decimal(value, max_places=MEASURED_VALUE_PLACES)
    if abs(number) >= MAX_MEASURED_VALUE:
        raise AmountError("the value is too large (at most 14 digits before the point)")
    return number


# --------------------------------------------------------------------------- figures

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
        if (
            self.baseline_value is None
            or self.baseline_period is None
            or self.target_value is None
            or self.target_period is None
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


def _text(value: object) -> str | None:
    return None if value is None else str(value)


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

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (decimals and periods as strings), e.g. for a snapshot's details."""
        return {
            "kpi_id": self.kpi_id,
            "name": self.name,
            "unit": self.unit,
            "direction": self.direction.value,
            "baseline_value": _text(self.baseline_value),
            "target_value": _text(self.target_value),
            "target_period": _text(self.target_period),
            "latest": _text(self.latest),
            "attainment": _text(self.attainment),
            "expected": _text(self.expected),
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
    latest = latest_value(kpi.measurements, period)
    achieved: Decimal | None = None
    expected: Decimal | None = None
    status = KpiStatus.NO_DATA
    if target is not None:
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


def due_and_measured_in(
    kpis: Iterable[KpiInput],
    latest_periods: Mapping[int, Period],
    period: Period,
    *,
    tracked: bool,
) -> tuple[int, int]:
    """How many of the ``kpis`` are due in ``period`` (:func:`is_due`) and how many of those
    have a measurement for it, given each KPI's latest measured period at or before
    ``period`` (a KPI is measured in P exactly when its latest measured period up to P is P)."""
    due = [k for k in kpis if is_due(k, period, lambda _period: tracked)]
    return len(due), sum(1 for k in due if latest_periods.get(k.kpi_id) == period)


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


# --------------------------------------------------------------------------- KPI tally
# Every snapshot stores its tally next to its ``kpi_details`` (migration 0004), so the
# dashboard sums four columns instead of decoding every snapshot's JSON, and finds the
# least attained off-track KPIs of a portfolio by reading the few snapshots that hold them.

KPI_STATUSES = ("on_track", "at_risk", "off_track", "no_data")
UNRANKED = Decimal("Infinity")


def kpi_entries(details: object) -> list[dict[str, Any]]:
    """The per-KPI dicts of a snapshot's ``kpi_details``, ignoring anything malformed."""
    if not isinstance(details, list):
        return []
    return [kpi for kpi in details if isinstance(kpi, dict)]


def entry_status(kpi: dict[str, Any]) -> str:
    """The status of one KPI entry; an unknown or missing status counts as no data."""
    status = kpi.get("status")
    return status if status in KPI_STATUSES else "no_data"


def attainment_rank(text: object) -> Decimal:
    """An entry's attainment as a number to sort by; without one it sorts last."""
    value = to_decimal(text)
    return UNRANKED if value is None else value


@dataclass(frozen=True)
class KpiTally:
    """How many of a snapshot's KPIs have each status."""

    on_track: int = 0
    at_risk: int = 0
    off_track: int = 0
    no_data: int = 0
    # The least attainment among the off-track KPIs; None when none has one.
    least_off_track_attainment: Decimal | None = None

    def counts(self) -> dict[str, int]:
        """``{status: count}`` for every status of :data:`KPI_STATUSES`."""
        return {status: getattr(self, status) for status in KPI_STATUSES}


def tally_kpis(details: object) -> KpiTally:
    """The tally of one snapshot's ``kpi_details``."""
    counts: Counter[str] = Counter()
    least = UNRANKED
    for kpi in kpi_entries(details):
        status = entry_status(kpi)
        counts[status] += 1
        if status == "off_track":
            least = min(least, attainment_rank(kpi.get("attainment")))
    return KpiTally(
        on_track=counts["on_track"],
        at_risk=counts["at_risk"],
        off_track=counts["off_track"],
        no_data=counts["no_data"],
        least_off_track_attainment=None if least == UNRANKED else least,
    )


def kpi_status_counts(details_lists: Iterable[object]) -> dict[str, int]:
    """The KPI status counts over many snapshots' ``kpi_details``."""
    total: Counter[str] = Counter()
    for details in details_lists:
        total.update(tally_kpis(details).counts())
    return {status: total[status] for status in KPI_STATUSES}


# --------------------------------------------------------------------------- portfolio totals


@dataclass(frozen=True)
class MoneyTotals:
    """Summed money figures of many projects (one kind)."""

    cumulative_cost: Decimal
    cumulative_benefit: Decimal
    net_benefit: Decimal
    npv: Decimal

    @property
    def roi_pct(self) -> Decimal | None:
        """The ROI % of the sums (never an average of the projects' ROIs)."""
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


# --------------------------------------------------------------------------- snapshots

# The snapshot columns that hold figures; a rerun compares them to tell what changed.
SNAPSHOT_FIGURE_COLUMNS = (
    "department",
    "phase",
    "state",
    "budget",
    "actual_cumulative_cost",
    "actual_cumulative_benefit",
    "actual_net_benefit",
    "actual_roi_pct",
    "actual_npv",
    "actual_payback_period",
    "plan_cumulative_cost",
    "plan_cumulative_benefit",
    "plan_net_benefit",
    "plan_roi_pct",
    "plan_npv",
    "plan_payback_period",
    "kpi_attainment",
    "kpi_details",
    "due_count",
    "measured_count",
    "measured",
    "status",
)


@dataclass(frozen=True)
class SnapshotSubject:
    """A project that gets a snapshot, with what the snapshot copies from it."""

    id: int
    program_id: int
    department: str
    phase: str
    state: str
    budget: Decimal | None


def _stored_text(value: object) -> str | None:
    """A period or an enum as the snapshot stores it."""
    if value is None:
        return None
    return getattr(value, "value", None) or str(value)


def snapshot_values(project: SnapshotSubject, figures: ProjectFigures) -> dict[str, Any]:
    """The columns of ``project``'s snapshot holding ``figures``."""
    actual, plan = figures.actual, figures.plan
    return {
        "program_id": project.program_id,
        "department": project.department,
        "phase": project.phase,
        "state": project.state,
        "budget": project.budget,
        "actual_cumulative_cost": actual.cumulative_cost,
        "actual_cumulative_benefit": actual.cumulative_benefit,
        "actual_net_benefit": actual.net_benefit,
        "actual_roi_pct": actual.roi_pct,
        "actual_npv": actual.npv,
        "actual_payback_period": _stored_text(actual.payback_period),
        "plan_cumulative_cost": plan.cumulative_cost,
        "plan_cumulative_benefit": plan.cumulative_benefit,
        "plan_net_benefit": plan.net_benefit,
        "plan_roi_pct": plan.roi_pct,
        "plan_npv": plan.npv,
        "plan_payback_period": _stored_text(plan.payback_period),
        "kpi_attainment": figures.kpi_attainment,
        "kpi_details": [k.as_dict() for k in figures.kpis],
        "due_count": figures.due_count,
        "measured_count": figures.measured_count,
        "measured": figures.measured,
        "status": _stored_text(figures.status),
    }


def _same(a: object, b: object) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return a is not None and b is not None and Decimal(str(a)) == Decimal(str(b))
    return a == b


def changed_columns(stored: object, values: Mapping[str, Any]) -> list[str]:
    """The figure columns whose ``values`` differ from the ``stored`` snapshot's."""
    return [k for k in SNAPSHOT_FIGURE_COLUMNS if not _same(getattr(stored, k), values[k])]


# --------------------------------------------------------------------------- alerts
# Which alerts should be open on day D (SPEC §2, §4), in plain words:
#
# - missing_measurement: a KPI was due in a period, the program's grace days after the
#   period are over, and there is still no value. One alert per KPI and period.
# - off_track: a KPI's status for the last complete month is off track.
# - budget_overrun: the actual cumulative cost up to the current month is above budget.
# - gate_overdue: a project in manage is past its periodic review (every 3 months), or a
#   gate review has waited for a decision more than GATE_REVIEW_WAIT_DAYS days.

GATE_REVIEW_WAIT_DAYS = 14
GRACE_REMINDER_DAYS = 3
CLOSED_STATES = (ProjectState.KILLED.value, ProjectState.RETIRED.value)


@dataclass(frozen=True)
class Person:
    """Somebody a reminder goes to."""

    id: int
    email: str
    active: bool


@dataclass(frozen=True)
class WatchedProject:
    """A project the daily check looks at (not killed or retired), with its people."""

    id: int
    name: str
    phase: str
    state: str
    budget: Decimal | None
    phase_entered_on: date
    last_review_on: date | None
    manager: Person
    program_crmo: Person | None
    steering_members: tuple[Person, ...]


@dataclass(frozen=True)
class KpiContact:
    """A KPI's name and the person who records it."""

    id: int
    name: str
    owner: Person | None


@dataclass(frozen=True)
class PendingReview:
    """A gate review waiting for a decision, requested on a (local) day."""

    id: int
    project_id: int
    phase: str
    requested_on: date


class AlertLike(Protocol):
    """What tells one alert from another: a stored alert and a wanted one alike."""

    @property
    def project_id(self) -> int: ...

    @property
    def kind(self) -> str: ...

    @property
    def period(self) -> str: ...

    @property
    def subject_key(self) -> str: ...


def alert_identity(alert: AlertLike) -> tuple[Any, ...]:
    """Alerts about a standing condition (not a period's measurement) stay one alert while
    the condition lasts, whatever month it is now."""
    if alert.kind == "missing_measurement":
        return (alert.project_id, alert.kind, alert.period, alert.subject_key)
    return (alert.project_id, alert.kind, alert.subject_key)


@dataclass(frozen=True)
class WantedAlert:
    """An alert that should be open."""

    project_id: int
    kind: str
    period: str
    subject_key: str
    detail: str
    kpi_id: int | None = None


def wanted_alerts(
    projects: Sequence[WatchedProject],
    *,
    today: date,
    tracking: Mapping[int, ProjectTracking],
    kpis: Mapping[int, KpiContact],
    current_figures: Mapping[int, ProjectFigures],
    last_figures: Mapping[int, ProjectFigures],
    reviews: Sequence[PendingReview],
) -> list[WantedAlert]:
    """Every alert that should be open on ``today``."""
    wanted: list[WantedAlert] = []
    current = Period.of(today)
    for project in projects:
        facts = tracking.get(project.id)
        if facts is not None:
            for kp in facts.missing(today=today, through=current):
                kpi = kpis.get(kp.kpi_id)
                name = kpi.name if kpi else f"KPI {kp.kpi_id}"
                wanted.append(
                    WantedAlert(
                        project.id,
                        "missing_measurement",
                        str(kp.period),
                        f"kpi:{kp.kpi_id}",
                        f"No value of '{name}' for {kp.period}; its grace ended on "
                        f"{grace_ends(kp.period, facts.grace_days)}.",
                        kp.kpi_id,
                    )
                )
        figures = last_figures.get(project.id)
        if figures is not None:
            for kpi_row in figures.kpis:
                if kpi_row.status == KpiStatus.OFF_TRACK:
                    wanted.append(
                        WantedAlert(
                            project.id,
                            "off_track",
                            str(figures.period),
                            f"kpi:{kpi_row.kpi_id}",
                            f"'{kpi_row.name}' is off track in {figures.period}: attainment "
                            f"{kpi_row.attainment}% against {kpi_row.expected}% expected by now.",
                            kpi_row.kpi_id,
                        )
                    )
        spent = current_figures.get(project.id)
        if (
            spent is not None
            and project.budget is not None
            and spent.actual.cumulative_cost > project.budget
        ):
            wanted.append(
                WantedAlert(
                    project.id,
                    "budget_overrun",
                    str(current),
                    "budget",
                    f"Actual cost to {current} is {spent.actual.cumulative_cost:,.2f}, above "
                    f"the budget of {project.budget:,.2f}.",
                )
            )
        reviewed = project.last_review_on or project.phase_entered_on
        if review_overdue(Phase(project.phase), ProjectState(project.state), reviewed, today):
            due = next_review_due(reviewed)
            wanted.append(
                WantedAlert(
                    project.id,
                    "gate_overdue",
                    str(Period.of(due)),
                    "review:manage",
                    f"The periodic review in manage was due on {due} and has not been held.",
                )
            )
    for review in reviews:
        requested = review.requested_on
        if today > requested + timedelta(days=GATE_REVIEW_WAIT_DAYS):
            wanted.append(
                WantedAlert(
                    review.project_id,
                    "gate_overdue",
                    str(Period.of(requested)),
                    f"gate_review:{review.id}",
                    f"A gate review of {review.phase} requested on {requested} has waited "
                    f"more than {GATE_REVIEW_WAIT_DAYS} days for a decision.",
                )
            )
    return wanted


@dataclass(frozen=True)
class AlertChanges:
    """What bringing the open alerts in line with the wanted ones takes."""

    resolve: list[Any]  # open alerts no longer wanted
    still_open: list[Any]  # open alerts still wanted, in the order they are wanted
    to_open: list[WantedAlert]  # wanted alerts not open yet


def alert_changes(wanted: Iterable[WantedAlert], open_alerts: Iterable[Any]) -> AlertChanges:
    """Resolve the open alerts no longer wanted (those of killed or retired projects too),
    keep the ones still wanted, open the rest."""
    wanted_by_identity = {alert_identity(w): w for w in wanted}
    open_by_identity = {alert_identity(a): a for a in open_alerts}
    return AlertChanges(
        resolve=[a for i, a in open_by_identity.items() if i not in wanted_by_identity],
        still_open=[open_by_identity[i] for i in wanted_by_identity if i in open_by_identity],
        to_open=[w for i, w in wanted_by_identity.items() if i not in open_by_identity],
    )


@dataclass(frozen=True)
class Reminder:
    """A notification to send unless one with the same ``dedupe_key`` was sent."""

    recipient: Person | None
    subject: str
    body: str
    reason_type: str  # alert | review | kpi_due
    reason_id: int | None
    dedupe_key: str


class OpenAlert(AlertLike, Protocol):
    """An alert as the reminders read it."""

    @property
    def id(self) -> int: ...

    @property
    def detail(self) -> str: ...


def _crmos_of(project: WatchedProject, all_crmos: Sequence[Person]) -> list[Person]:
    crmo = project.program_crmo
    return [crmo] if crmo is not None and crmo.active else list(all_crmos)


def reminders_due(
    projects: Sequence[WatchedProject],
    *,
    today: date,
    tracking: Mapping[int, ProjectTracking],
    kpis: Mapping[int, KpiContact],
    alerts: Sequence[OpenAlert],
    reviews: Sequence[PendingReview],
    all_crmos: Sequence[Person],
    link: Callable[[str], str],
) -> list[Reminder]:
    """The reminders of SPEC §2 that are due on ``today``; ``link`` makes a page's link."""
    reminders: list[Reminder] = []
    by_id = {p.id: p for p in projects}
    current = Period.of(today)
    for project in projects:
        facts = tracking.get(project.id)
        if facts is None:
            continue
        for kp in facts.kpi_periods(through=current, today=today):
            if kp.measured or kp.missing or today < kp.period.last_day:
                continue
            kpi = kpis.get(kp.kpi_id)
            if kpi is None:
                continue
            owner = kpi.owner or project.manager
            ends = grace_ends(kp.period, facts.grace_days)
            page = link(f"/projects/{project.id}")
            reminders.append(
                Reminder(
                    owner,
                    f"Measurement due: {kpi.name} for {kp.period}",
                    f"The value of '{kpi.name}' ({project.name}) for {kp.period} is due.\n"
                    f"Please record it by {ends}; after that it counts as missing.\n\n{page}\n",
                    "kpi_due",
                    kpi.id,
                    f"kpi_due:{kpi.id}:{kp.period}",
                )
            )
            if today >= ends - timedelta(days=GRACE_REMINDER_DAYS):
                reminders.append(
                    Reminder(
                        owner,
                        f"Reminder: {kpi.name} for {kp.period} is missing after {ends}",
                        f"There is still no value of '{kpi.name}' ({project.name}) for "
                        f"{kp.period}. The grace period ends on {ends}; after that the "
                        f"measurement is reported missing to the manager and the CRMO.\n\n"
                        f"{page}\n",
                        "kpi_due",
                        kpi.id,
                        f"kpi_grace:{kpi.id}:{kp.period}",
                    )
                )
    for alert in alerts:
        watched = by_id.get(alert.project_id)
        if watched is None:
            continue
        page = link(f"/projects/{watched.id}")
        if alert.kind == "missing_measurement":
            recipients = [watched.manager, *_crmos_of(watched, all_crmos)]
            subject = f"Missing measurement: {watched.name} ({alert.period})"
        elif alert.kind == "gate_overdue" and alert.subject_key == "review:manage":
            recipients = [watched.manager, *watched.steering_members]
            subject = f"Periodic review overdue: {watched.name}"
        else:
            continue
        for person in recipients:
            reminders.append(
                Reminder(
                    person,
                    subject,
                    f"{alert.detail}\n\nProject: {watched.name}\n{page}\n",
                    "alert",
                    alert.id,
                    f"alert:{alert.id}:{person.id}",
                )
            )
    for review in reviews:
        watched = by_id.get(review.project_id)
        if watched is None:
            continue
        requested = review.requested_on
        overdue = today > requested + timedelta(days=GATE_REVIEW_WAIT_DAYS)
        page = link(f"/projects/{watched.id}")
        for person in watched.steering_members:
            if person.id == watched.manager.id:
                continue  # nobody decides a gate of a project they manage
            reminders.append(
                Reminder(
                    person,
                    f"Gate review waiting: {watched.name} ({review.phase})",
                    f"{watched.name} asks the steering committee to decide its "
                    f"{review.phase} gate (requested on {requested}).\n\n{page}\n",
                    "review",
                    review.id,
                    f"review:{review.id}:{person.id}",
                )
            )
            if overdue:
                reminders.append(
                    Reminder(
                        person,
                        f"Gate review overdue: {watched.name} ({review.phase})",
                        f"The gate review of {watched.name} requested on {requested} has "
                        f"waited more than {GATE_REVIEW_WAIT_DAYS} days.\n\n{page}\n",
                        "review",
                        review.id,
                        f"review_overdue:{review.id}:{person.id}",
                    )
                )
    return reminders
