"""When a project is tracked, and which KPI-periods are due, measured or missing (SPEC §4).

The pure part works on plain values; the loaders at the bottom read the database in bulk
(a fixed number of queries for any number of projects) and feed the pure part.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from crmphase.metrics.roi import Cadence, Coverage, cadence_includes, grace_ends
from crmphase.periods import Period, period_range

TRACKED_PHASES = frozenset({"execute", "manage"})

Tracked = Callable[[Period], bool]


@dataclass(frozen=True)
class PositionChange:
    """From day ``at`` on, the project was in ``phase`` with ``state``."""

    at: date
    phase: str
    state: str


def tracked_periods(changes: Sequence[PositionChange], through: Period) -> frozenset[Period]:
    """The periods up to ``through`` during which the project was, on at least one day,
    active in execute or manage."""
    ordered = sorted(changes, key=lambda c: c.at)
    periods: set[Period] = set()
    end_of_time = through.last_day
    for index, change in enumerate(ordered):
        if change.state != "active" or change.phase not in TRACKED_PHASES:
            continue
        until = (
            ordered[index + 1].at - timedelta(days=1) if index + 1 < len(ordered) else end_of_time
        )
        until = min(until, end_of_time)
        if until < change.at:
            continue
        periods.update(period_range(Period.of(change.at), Period.of(until)))
    return frozenset(periods)


def tracked_in(changes: Sequence[PositionChange], period: Period) -> bool:
    """Whether ``period`` is one of :func:`tracked_periods` ``(changes, through=period)``:
    active in execute or manage on at least one day of ``period`` (checked directly,
    without listing every tracked period of the project's history)."""
    ordered = sorted(changes, key=lambda c: c.at)
    first_day, last_day = period.first_day, period.last_day
    for index, change in enumerate(ordered):
        if change.state != "active" or change.phase not in TRACKED_PHASES:
            continue
        if change.at > last_day:
            break  # this and every later change starts after the period
        until = ordered[index + 1].at - timedelta(days=1) if index + 1 < len(ordered) else last_day
        until = min(until, last_day)
        if until >= change.at and until >= first_day:
            return True
    return False


@dataclass(frozen=True)
class KpiSchedule:
    """What decides when a KPI is due."""

    kpi_id: int
    project_id: int
    baseline_period: Period | None
    cadence: Cadence


@dataclass(frozen=True)
class KpiPeriod:
    kpi_id: int
    project_id: int
    period: Period
    measured: bool
    missing: bool


def is_due(kpi: KpiSchedule, period: Period, tracked: Tracked) -> bool:
    """Due in P: tracked in P, P at or after the baseline period, and P in the cadence."""
    return (
        kpi.baseline_period is not None
        and period >= kpi.baseline_period
        and cadence_includes(kpi.cadence, period)
        and tracked(period)
    )


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
    """Every period from ``first`` (default: the baseline) to ``through`` in which the KPI
    is due, whether it was measured, and whether it is missing (grace over, unmeasured)."""
    if kpi.baseline_period is None:
        return []
    start = max(first, kpi.baseline_period) if first else kpi.baseline_period
    result = []
    for period in period_range(start, through):
        if not is_due(kpi, period, tracked):
            continue
        done = period in measured
        result.append(
            KpiPeriod(
                kpi.kpi_id,
                kpi.project_id,
                period,
                measured=done,
                missing=not done and today > grace_ends(period, grace_days),
            )
        )
    return result


def coverage_of(kpi_periods: Iterable[KpiPeriod], period: Period | None = None) -> Coverage:
    """Measured due KPI-periods over due KPI-periods (for one period, or all given)."""
    selected = [kp for kp in kpi_periods if period is None or kp.period == period]
    return Coverage(measured=sum(kp.measured for kp in selected), due=len(selected))


# --- loaders -------------------------------------------------------------------------


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
        through = through or Period.of(today)
        return [kp for kp in self.kpi_periods(through=through, today=today) if kp.missing]


def load_tracking(
    project_ids: Iterable[int], *, through: Period, since: Period | None = None
) -> dict[int, ProjectTracking]:
    """Tracking facts for many projects in four queries.

    ``since`` limits the measured periods read to ``since``..``through`` (for callers that
    look at those periods only, e.g. one period's coverage).
    """
    import sqlalchemy as sa

    from crmphase.extensions import db
    from crmphase.metrics.models import Kpi, Measurement
    from crmphase.phases.models import GateDecision
    from crmphase.programs.models import Program, Project

    ids = sorted(set(project_ids))
    if not ids:
        return {}
    projects = db.session.execute(
        sa.select(
            Project.id,
            Project.phase,
            Project.state,
            Project.phase_entered_on,
            Project.created_at,
            Program.measurement_grace_days,
        )
        .join(Program, Program.id == Project.program_id)
        .where(Project.id.in_(ids))
    ).all()
    decisions: dict[int, list[PositionChange]] = defaultdict(list)
    for row in db.session.execute(
        sa.select(
            GateDecision.project_id,
            GateDecision.decided_at,
            GateDecision.resulting_phase,
            GateDecision.resulting_state,
        )
        .where(GateDecision.project_id.in_(ids))
        .order_by(GateDecision.decided_at, GateDecision.id)
    ):
        decisions[row.project_id].append(
            PositionChange(row.decided_at.date(), row.resulting_phase, row.resulting_state)
        )
    kpis: dict[int, list[KpiSchedule]] = defaultdict(list)
    for row in db.session.execute(
        sa.select(Kpi.id, Kpi.project_id, Kpi.baseline_period, Kpi.cadence).where(
            Kpi.project_id.in_(ids)
        )
    ):
        baseline = Period.parse(row.baseline_period) if row.baseline_period else None
        kpis[row.project_id].append(
            KpiSchedule(row.id, row.project_id, baseline, Cadence(row.cadence))
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
    result = {}
    for row in projects:
        changes = position_history(
            row.created_at.date(),
            row.phase_entered_on,
            row.phase,
            row.state,
            decisions.get(row.id, []),
        )
        result[row.id] = ProjectTracking(
            project_id=row.id,
            grace_days=row.measurement_grace_days,
            tracked=tracked_periods(changes, through),
            kpis=tuple(kpis.get(row.id, ())),
            measured={
                k.kpi_id: frozenset(measured.get(k.kpi_id, ())) for k in kpis.get(row.id, ())
            },
        )
    return result


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


def missing_kpi_periods(project_id: int, *, today: date | None = None) -> list[KpiPeriod]:
    """The project's due KPI-periods whose grace has ended without a measurement."""
    from crmphase import clock

    today = today or clock.today()
    tracking = load_tracking([project_id], through=Period.of(today)).get(project_id)
    return tracking.missing(today=today) if tracking else []
