"""Factories for the dashboard's inputs: ROI snapshots, alerts and gate reviews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest


def _d(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@pytest.fixture
def dash_snapshot(db):
    """``dash_snapshot(project, "2026-09", cost=..., benefit=..., plan_cost=..., ...)``.

    Net benefit and ROI % follow from cost and benefit (SPEC §4) unless given.
    """
    from crmphase.metrics.models import RoiSnapshot
    from crmphase.metrics.roi import roi_pct
    from crmphase.metrics.services import refresh_snapshot_totals

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
        refresh_snapshot_totals([period])
        db.session.commit()
        return snapshot

    return make


@pytest.fixture
def dash_alert(db):
    """``dash_alert(project, "missing_measurement", "2026-08", kpi=None, resolved=False)``."""
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
def dash_review(db):
    """``dash_review(project, requested_by=user, requested_at=datetime, status="pending")``."""
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


# --- a small, known portfolio (clock fixed on 2026-11-15) ---------------------------

NOW = "2026-11-15T12:00:00"


@pytest.fixture
def dash_now():
    """The one clock fixed on 2026-11-15 12:00 UTC (the live server thread sees it too)."""
    from crmphase import clock

    with clock.frozen(NOW) as now:
        yield now


@dataclass
class Portfolio:
    campaigns: object
    service: object
    crmo: object
    manager: object
    steering: object
    p1: object  # campaigns, marketing, execute: overrun, one KPI off track, a missing measurement
    p2: object  # service, service dept, manage: periodic review overdue
    p3: object  # campaigns, sales, evaluate: a gate review waiting
    p4: object  # service, it, strategize, on hold


@pytest.fixture
def dash_portfolio(
    dash_now, make_user, make_program, make_project, dash_snapshot, dash_alert, dash_review
):
    crmo = make_user("crmo")
    manager = make_user("manager")
    steering = make_user("steering")
    campaigns = make_program("Campaigns", crmo=crmo)
    service = make_program("Service", crmo=crmo)
    p1 = make_project(
        "Campaign management",
        program=campaigns,
        manager=manager,
        department="marketing",
        phase="execute",
        budget=Decimal("100000.00"),
    )
    p2 = make_project(
        "Call centre",
        program=service,
        department="service",
        phase="manage",
        phase_entered_on=date(2026, 3, 1),
        last_review_on=date(2026, 7, 1),
        budget=Decimal("80000.00"),
    )
    p3 = make_project("Sales portal", program=campaigns, department="sales", phase="evaluate")
    p4 = make_project(
        "Data warehouse", program=service, department="it", phase="strategize", state="on_hold"
    )
    dash_snapshot(
        p1,
        "2026-09",
        cost="40000",
        benefit="10000",
        plan_cost="50000",
        plan_benefit="20000",
        due=2,
        measured=2,
    )
    dash_snapshot(
        p1,
        "2026-10",
        cost="120000",
        benefit="30000",
        plan_cost="60000",
        plan_benefit="45000",
        npv="-91000.50",
        plan_npv="-15500.25",
        due=2,
        measured=1,
        kpis=[
            kpi("Response rate", "off_track", attainment="10.00", expected="50.00", kpi_id=11),
            kpi("Cost per lead", "on_track", attainment="60.00", expected="50.00", kpi_id=12),
        ],
        status="off_track",
    )
    dash_snapshot(
        p2,
        "2026-10",
        cost="50000",
        benefit="90000",
        plan_cost="55000",
        plan_benefit="80000",
        due=1,
        measured=1,
        kpis=[kpi("First-call resolution", "at_risk", attainment="40", expected="60", kpi_id=21)],
        status="at_risk",
    )
    dash_alert(p1, "missing_measurement", "2026-09", subject_key="kpi:11")
    dash_alert(p1, "missing_measurement", "2026-10", subject_key="kpi:11")
    dash_alert(p2, "missing_measurement", "2026-08", subject_key="kpi:21", resolved=True)
    dash_review(p3, requested_at=datetime(2026, 11, 5, 9, 0, tzinfo=UTC))
    dash_review(p4, requested_at=datetime(2026, 10, 1, 9, 0, tzinfo=UTC), status="withdrawn")
    return Portfolio(campaigns, service, crmo, manager, steering, p1, p2, p3, p4)
