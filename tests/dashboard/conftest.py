"""A small, known portfolio for the dashboard's HTTP tests (clock fixed on 2026-11-15)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from crmphase import clock
from tests.factories_dashboard import kpi

NOW = "2026-11-15T12:00:00"


@pytest.fixture
def frozen_now():
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
def portfolio(
    frozen_now, make_user, make_program, make_project, make_snapshot, make_alert, make_review
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
    make_snapshot(
        p1,
        "2026-09",
        cost="40000",
        benefit="10000",
        plan_cost="50000",
        plan_benefit="20000",
        due=2,
        measured=2,
    )
    make_snapshot(
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
    make_snapshot(
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
    make_alert(p1, "missing_measurement", "2026-09", subject_key="kpi:11")
    make_alert(p1, "missing_measurement", "2026-10", subject_key="kpi:11")
    make_alert(p2, "missing_measurement", "2026-08", subject_key="kpi:21", resolved=True)
    make_review(p3, requested_at=datetime(2026, 11, 5, 9, 0, tzinfo=UTC))
    make_review(p4, requested_at=datetime(2026, 10, 1, 9, 0, tzinfo=UTC), status="withdrawn")
    return Portfolio(campaigns, service, crmo, manager, steering, p1, p2, p3, p4)
