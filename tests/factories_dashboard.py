"""Factories for the dashboard's inputs: ROI snapshots, alerts and gate reviews."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest


def _d(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@pytest.fixture
def make_snapshot(db):
    """``make_snapshot(project, "2026-09", cost=..., benefit=..., plan_cost=..., ...)``.

    Net benefit and ROI % follow from cost and benefit (SPEC §4) unless given.
    """
    from crmphase.metrics.models import RoiSnapshot
    from crmphase.metrics.roi import roi_pct

    def make(
        project,
        period: str,
        *,
        cost="0",
        benefit="0",
        plan_cost="0",
        plan_benefit="0",
        npv=None,
        plan_npv=None,
        due=0,
        measured=0,
        kpis=None,
        status="no_data",
        **kw,
    ):
        cost, benefit, plan_cost, plan_benefit = map(_d, (cost, benefit, plan_cost, plan_benefit))
        snapshot = RoiSnapshot(
            project_id=project.id,
            period=period,
            program_id=project.program_id,
            department=kw.pop("department", project.department),
            phase=kw.pop("phase", project.phase),
            state=kw.pop("state", project.state),
            budget=kw.pop("budget", project.budget),
            actual_cumulative_cost=cost,
            actual_cumulative_benefit=benefit,
            actual_net_benefit=benefit - cost,
            actual_roi_pct=roi_pct(benefit - cost, cost),
            actual_npv=_d(npv if npv is not None else benefit - cost),
            plan_cumulative_cost=plan_cost,
            plan_cumulative_benefit=plan_benefit,
            plan_net_benefit=plan_benefit - plan_cost,
            plan_roi_pct=roi_pct(plan_benefit - plan_cost, plan_cost),
            plan_npv=_d(plan_npv if plan_npv is not None else plan_benefit - plan_cost),
            kpi_details=kpis or [],
            due_count=due,
            measured_count=measured,
            measured=measured >= due,
            status=status,
            **kw,
        )
        db.session.add(snapshot)
        db.session.commit()
        return snapshot

    return make


@pytest.fixture
def make_alert(db):
    """``make_alert(project, "missing_measurement", "2026-08", kpi=None, resolved=False)``."""
    from crmphase import clock
    from crmphase.metrics.models import Alert

    def make(project, kind: str, period: str, *, kpi_id=None, resolved=False, **kw):
        alert = Alert(
            project_id=project.id,
            kind=kind,
            period=period,
            kpi_id=kpi_id,
            subject_key=kw.pop("subject_key", f"kpi:{kpi_id}" if kpi_id else ""),
            resolved_at=clock.now() if resolved else None,
            **kw,
        )
        db.session.add(alert)
        db.session.commit()
        return alert

    return make


@pytest.fixture
def make_review(db):
    """``make_review(project, requested_by=user, requested_at=datetime, status="pending")``."""
    from crmphase.phases.models import GateReview

    def make(project, *, requested_by=None, requested_at: datetime | None = None, **kw):
        review = GateReview(
            project_id=project.id,
            phase=kw.pop("phase", project.phase),
            requested_by_id=(requested_by or project.manager).id,
            status=kw.pop("status", "pending"),
            **kw,
        )
        if requested_at is not None:
            review.requested_at = requested_at
        db.session.add(review)
        db.session.commit()
        return review

    return make


def kpi(name: str, status: str, attainment=None, expected=None, latest=None, kpi_id=1) -> dict:
    """One entry of a snapshot's ``kpi_details``."""
    return {
        "kpi_id": kpi_id,
        "name": name,
        "unit": "%",
        "latest": latest,
        "attainment": attainment,
        "expected": expected,
        "status": status,
    }
