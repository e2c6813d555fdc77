"""The ``roi_snapshot`` job: one ROI snapshot per project and month (SPEC §2, §4).

The figures come from :func:`crmphase.metrics.figures.load_figures`, the function behind
the ROI endpoint and the dashboard too, so the three can never disagree. This module only
decides which projects get a snapshot and writes the rows (insert, or update on a rerun).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

import sqlalchemy as sa

from crmphase import clock
from crmphase.audit.services import record_event
from crmphase.extensions import db
from crmphase.integrations.services import announce_snapshots
from crmphase.jobs.definition import JobContext
from crmphase.metrics.models import RoiSnapshot
from crmphase.periods import Period
from crmphase.phases.rules import ProjectState
from crmphase.programs.models import Project

CLOSED_STATES = (ProjectState.KILLED.value, ProjectState.RETIRED.value)

# The snapshot columns that hold figures; a rerun compares them to tell what changed.
FIGURE_COLUMNS = (
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


def load_project_figures(project_ids: list[int], period: Period, today):
    """The one door to the figures (SPEC §4): the measurement domain computes them."""
    from crmphase.metrics.figures import load_figures

    return load_figures(project_ids, period, today=today)


def snapshot_projects(period: Period) -> list[Project]:
    """The projects that get a snapshot for ``period``: every project that is not killed
    or retired now (active or on hold, so held projects' costs stay in the portfolio) and
    existed by the end of the period, plus any project that already has one (a rerun
    updates it even if the project was killed since)."""
    end_of_period = datetime.combine(period.next().first_day, time.min, tzinfo=clock.timezone())
    has_snapshot = sa.select(RoiSnapshot.project_id).where(RoiSnapshot.period == str(period))
    query = (
        sa.select(Project)
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
    return list(db.session.scalars(query))


def _values(project: Project, figures) -> dict:
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
        "actual_payback_period": _text(actual.payback_period),
        "plan_cumulative_cost": plan.cumulative_cost,
        "plan_cumulative_benefit": plan.cumulative_benefit,
        "plan_net_benefit": plan.net_benefit,
        "plan_roi_pct": plan.roi_pct,
        "plan_npv": plan.npv,
        "plan_payback_period": _text(plan.payback_period),
        "kpi_attainment": figures.kpi_attainment,
        "kpi_details": [k.as_dict() for k in figures.kpis],
        "due_count": figures.due_count,
        "measured_count": figures.measured_count,
        "measured": figures.measured,
        "status": _text(figures.status),
    }


def _text(value):
    if value is None:
        return None
    return getattr(value, "value", None) or str(value)


def _same(a, b) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return a is not None and b is not None and Decimal(a) == Decimal(b)
    return a == b


def write_roi_snapshots(ctx: JobContext) -> int:
    """Insert or update the snapshot of every eligible project for ``ctx.period``.

    Returns the number of rows written. On a rerun each existing row is updated in
    place, ``recomputed_count`` goes up, and a project event records what changed.
    """
    period = ctx.period
    projects = snapshot_projects(period)
    if not projects:
        return 0
    figures = load_project_figures([p.id for p in projects], period, ctx.today)
    existing = {
        s.project_id: s
        for s in db.session.scalars(
            sa.select(RoiSnapshot).where(
                RoiSnapshot.period == str(period),
                RoiSnapshot.project_id.in_([p.id for p in projects]),
            )
        )
    }
    now = clock.now()
    written = 0
    for project in projects:
        project_figures = figures.get(project.id)
        if project_figures is None:
            continue
        values = _values(project, project_figures)
        snapshot = existing.get(project.id)
        if snapshot is None:
            db.session.add(
                RoiSnapshot(project_id=project.id, period=str(period), computed_at=now, **values)
            )
        else:
            changed = [k for k in FIGURE_COLUMNS if not _same(getattr(snapshot, k), values[k])]
            if changed:
                record_event(
                    ctx.actor,
                    "snapshot.recomputed",
                    "roi_snapshot",
                    snapshot.id,
                    before={"period": str(period), **{k: getattr(snapshot, k) for k in changed}},
                    after={"period": str(period), **{k: values[k] for k in changed}},
                    project_id=project.id,
                    program_id=project.program_id,
                )
            for key, value in values.items():
                setattr(snapshot, key, value)
            snapshot.computed_at = now
            snapshot.recomputed_count = (snapshot.recomputed_count or 0) + 1
        written += 1
    db.session.flush()
    announce_snapshots(str(ctx.period), written)
    return written
