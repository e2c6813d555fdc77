"""Every read of the metrics domain: what the rules, the pages and the API need.

Each fact is read here once, in bulk (a fixed number of queries for any number of
projects), and returned as the values the rules in :mod:`crmphase.metrics.rules` and
:mod:`crmphase.metrics.roi` take.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from crmphase.extensions import db
from crmphase.metrics.models import Alert, RoiSnapshot
from crmphase.programs.models import Project

# --------------------------------------------------------------------------- alerts


def alerts_query(*, open_only=None, kind=None, project_id=None, period=None, program_id=None):
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


def projects_by_id(ids) -> dict[int, Project]:
    """The projects of ``ids`` by id (for the names next to alerts)."""
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(sa.select(Project).where(Project.id.in_(ids)))}


# --------------------------------------------------------------------------- snapshots


def snapshots_query(period: str | None = None, program_id=None, project_id=None, status=None):
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
