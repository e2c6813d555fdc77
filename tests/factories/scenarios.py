"""Situations several test folders share, built on the factories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from crmphase import clock
from crmphase.benchdata.generator import BENCH_PASSWORD, generate_portfolio

from .auth import make_user
from .metrics import kpi_detail, make_alert, make_snapshot
from .phases import make_review
from .programs import make_program, make_project

# --- a project tracked since 2025 (the jobs look at its history) ---------------------

LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def tracked_project(db):
    """``tracked_project(phase="execute", since=date(2025, 12, 1), **fields)``: a project
    that has existed since 2025 and has been in ``phase`` since ``since``."""

    def make(phase="execute", since=date(2025, 12, 1), **fields):
        fields.setdefault("created_at", LONG_AGO)
        return make_project(phase=phase, phase_entered_on=since, **fields)

    return make


# --- a small, known portfolio on the dashboard (clock fixed on 2026-11-15) ------------

DASHBOARD_NOW = "2026-11-15T12:00:00"


@pytest.fixture
def dash_now():
    """The one clock fixed on 2026-11-15 12:00 UTC (the live server thread sees it too)."""
    with clock.frozen(DASHBOARD_NOW) as now:
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
def dash_portfolio(dash_now, db):
    """Two programs, four projects in every phase, snapshots of 2026-09 and 2026-10, open
    and resolved alerts, a waiting and a withdrawn gate review."""
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
        due_count=2,
        measured_count=2,
    )
    make_snapshot(
        p1,
        "2026-10",
        cost="120000",
        benefit="30000",
        plan_cost="60000",
        plan_benefit="45000",
        actual_npv="-91000.50",
        plan_npv="-15500.25",
        due_count=2,
        measured_count=1,
        kpi_details=[
            kpi_detail(
                "Response rate", "off_track", attainment="10.00", expected="50.00", kpi_id=11
            ),
            kpi_detail(
                "Cost per lead", "on_track", attainment="60.00", expected="50.00", kpi_id=12
            ),
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
        due_count=1,
        measured_count=1,
        kpi_details=[
            kpi_detail(
                "First-call resolution", "at_risk", attainment="40", expected="60", kpi_id=21
            )
        ],
        status="at_risk",
    )
    make_alert(p1, "missing_measurement", "2026-09", subject_key="kpi:11")
    make_alert(p1, "missing_measurement", "2026-10", subject_key="kpi:11")
    make_alert(p2, "missing_measurement", "2026-08", subject_key="kpi:21", resolved=True)
    make_review(p3, requested_at=datetime(2026, 11, 5, 9, 0, tzinfo=UTC))
    make_review(p4, requested_at=datetime(2026, 10, 1, 9, 0, tzinfo=UTC), status="withdrawn")
    return Portfolio(campaigns, service, crmo, manager, steering, p1, p2, p3, p4)


# --- a generated portfolio (the benchmark's generator) in a committed database ---------

# The generator's "now": the data run up to the month before (2026-05).
BENCH_NOW = "2026-06-15T09:00:00+00:00"


@pytest.fixture
def bench_portfolio(committed_db):
    """``bench_portfolio(programs=2, projects=6, months=12, seed=1, append=False)`` writes a
    generated portfolio (committed; every table is emptied after the test)."""

    def make(programs=2, projects=6, months=12, seed=1, append=False):
        with clock.frozen(BENCH_NOW):
            return generate_portfolio(
                programs=programs, projects=projects, months=months, seed=seed, append=append
            )

    return make


@pytest.fixture
def bench_login(committed_db):
    """``bench_login(client, email)`` signs a generated user in through the login page."""

    def sign_in(client, email):
        response = client.post("/login", data={"email": email, "password": BENCH_PASSWORD})
        # Requests share the test's app context (and session): end it as a server would.
        committed_db.session.remove()
        assert response.status_code == 302, response.data
        return client

    return sign_in
