"""Factories for the monthly review: snapshots, KPIs, measurements, money, decisions, alerts,
and ``review_portfolio``, a small portfolio with everything the export shows."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from crmphase import clock

_seq = itertools.count(1)

REVIEW_NOW = "2026-04-15T09:00:00+00:00"  # the March 2026 review is due


@pytest.fixture
def review_clock():
    """The clock fixed at 15 April 2026: 2026-03 is the last complete period."""
    with clock.frozen(REVIEW_NOW) as now:
        yield now


def D(value) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
def make_snapshot(db):
    """``make_snapshot(project, "2026-03", actual_cost=..., actual_benefit=..., ...)``:
    an ROI snapshot whose derived figures (net, ROI %) follow SPEC §4."""
    from crmphase.metrics.models import RoiSnapshot
    from crmphase.metrics.roi import roi_pct
    from crmphase.metrics.services import refresh_snapshot_totals

    def make(
        project,
        period: str,
        *,
        actual_cost="0",
        actual_benefit="0",
        plan_cost="0",
        plan_benefit="0",
        **kw,
    ):
        a_cost, a_benefit, p_cost, p_benefit = map(
            D, (actual_cost, actual_benefit, plan_cost, plan_benefit)
        )
        values = {
            "program_id": project.program_id,
            "department": project.department,
            "phase": project.phase,
            "state": project.state,
            "budget": project.budget,
            "actual_cumulative_cost": a_cost,
            "actual_cumulative_benefit": a_benefit,
            "actual_net_benefit": a_benefit - a_cost,
            "actual_roi_pct": roi_pct(a_benefit - a_cost, a_cost),
            "actual_npv": a_benefit - a_cost,
            "actual_payback_period": None,
            "plan_cumulative_cost": p_cost,
            "plan_cumulative_benefit": p_benefit,
            "plan_net_benefit": p_benefit - p_cost,
            "plan_roi_pct": roi_pct(p_benefit - p_cost, p_cost),
            "plan_npv": p_benefit - p_cost,
            "plan_payback_period": None,
            "kpi_attainment": None,
            "kpi_details": [],
            "due_count": 0,
            "measured_count": 0,
            "measured": False,
            "status": "no_data",
        }
        values.update(kw)
        snapshot = RoiSnapshot(project_id=project.id, period=period, **values)
        db.session.add(snapshot)
        refresh_snapshot_totals([period])
        db.session.commit()
        return snapshot

    return make


@pytest.fixture
def export_kpi(db):
    from crmphase.metrics.models import Kpi

    def make(project, name: str | None = None, **kw):
        kw.setdefault("unit", "%")
        kw.setdefault("direction", "up")
        kw.setdefault("baseline_value", D("10"))
        kw.setdefault("baseline_period", "2026-01")
        kw.setdefault("target_value", D("20"))
        kw.setdefault("target_period", "2026-06")
        kw.setdefault("cadence", "monthly")
        kpi = Kpi(project_id=project.id, name=name or f"KPI {next(_seq)}", **kw)
        db.session.add(kpi)
        db.session.commit()
        return kpi

    return make


@pytest.fixture
def export_measurement(db):
    from crmphase.metrics.models import Measurement

    def make(kpi, period: str, value, **kw):
        kw.setdefault("recorded_at", datetime(2026, 4, 2, 8, 30, tzinfo=UTC))
        row = Measurement(kpi_id=kpi.id, period=period, value=D(value), **kw)
        db.session.add(row)
        db.session.commit()
        return row

    return make


@pytest.fixture
def export_money(db):
    """``export_money("cost"|"benefit", project, period, amount, kind="actual", ...)``."""
    from crmphase.metrics.models import BenefitEntry, CostEntry

    def make(what: str, project, period: str, amount, kind: str = "actual", **kw):
        model = CostEntry if what == "cost" else BenefitEntry
        if what == "cost":
            kw.setdefault("category", "software")
        row = model(project_id=project.id, period=period, kind=kind, amount=D(amount), **kw)
        db.session.add(row)
        db.session.commit()
        return row

    return make


@pytest.fixture
def make_decision(db, make_user):
    from crmphase.phases.models import GateDecision

    def make(project, decision: str = "go", *, decided_at: datetime, **kw):
        kw.setdefault("phase", "evaluate")
        kw.setdefault("from_state", "active")
        kw.setdefault("resulting_phase", "execute")
        kw.setdefault("resulting_state", "active")
        kw.setdefault("rationale", "Every criterion met; the business case holds.")
        kw.setdefault("decided_by_id", make_user("steering").id)
        row = GateDecision(project_id=project.id, decision=decision, decided_at=decided_at, **kw)
        db.session.add(row)
        db.session.commit()
        return row

    return make


@pytest.fixture
def make_alert(db):
    from crmphase.metrics.models import Alert

    def make(project, kind: str = "missing_measurement", *, opened_at: datetime, **kw):
        kw.setdefault("period", "2026-02")
        kw.setdefault("subject_key", f"k{next(_seq)}")
        row = Alert(project_id=project.id, kind=kind, opened_at=opened_at, **kw)
        db.session.add(row)
        db.session.commit()
        return row

    return make


@dataclass
class ReviewPortfolio:
    period: str = "2026-03"
    programs: list = field(default_factory=list)
    projects: list = field(default_factory=list)
    snapshots: list = field(default_factory=list)
    kpis: list = field(default_factory=list)


@pytest.fixture
def review_portfolio(
    review_clock,
    make_program,
    make_project,
    make_snapshot,
    export_kpi,
    export_measurement,
    export_money,
    make_decision,
    make_alert,
    make_user,
):
    """Two programs, three projects with snapshots for 2026-01..03 (one with a loss), KPIs
    with snapshot details, measurements, costs, benefits, decisions and alerts."""
    crm = make_program(name="Customer 360")
    service = make_program(name="Service excellence")
    owner = make_user("manager", name="Olga Owner")
    campaign = make_project("Campaign management", program=crm, phase="execute")
    portal = make_project("Self-service portal", program=service, phase="manage")
    loyalty = make_project(
        "Loyalty pilot", program=crm, phase="execute", department="sales", state="on_hold"
    )
    figures = {
        # project: {period: (actual cost, actual benefit, plan cost, plan benefit)}
        campaign: {
            "2026-01": ("40000.00", "10000.00", "45000.00", "15000.00"),
            "2026-02": ("70000.00", "45000.00", "80000.00", "50000.00"),
            "2026-03": ("100000.00", "150000.00", "100000.00", "120000.00"),
        },
        portal: {
            "2026-02": ("20000.00", "5000.00", "25000.00", "5000.00"),
            "2026-03": ("30000.00", "10000.50", "30000.00", "12000.00"),
        },
        loyalty: {
            "2026-03": ("12345.67", "0.00", "10000.00", "3000.00"),
        },
    }
    portfolio = ReviewPortfolio(programs=[crm, service], projects=[campaign, portal, loyalty])
    conversion = export_kpi(campaign, "Campaign conversion", owner_id=owner.id)
    churn = export_kpi(
        portal,
        "=HYPERLINK(churn)",  # a name someone typed to try a formula
        direction="down",
        baseline_value=D("8"),
        target_value=D("5"),
    )
    portfolio.kpis = [conversion, churn]
    details = {
        campaign: [
            {
                "kpi_id": conversion.id,
                "name": conversion.name,
                "unit": "%",
                "latest": "14.5",
                "attainment": "45.00",
                "expected": "40.00",
                "status": "on_track",
            }
        ],
        portal: [
            {
                "kpi_id": churn.id,
                "latest": 7.1,
                "attainment": "30.00",
                "expected": "60.00",
                "status": "off_track",
            }
        ],
        loyalty: [],
    }
    counts = {campaign: (3, 3), portal: (2, 1), loyalty: (0, 0)}
    for project, by_period in figures.items():
        for period, (a_cost, a_benefit, p_cost, p_benefit) in by_period.items():
            due, measured = counts[project] if period == "2026-03" else (1, 1)
            portfolio.snapshots.append(
                make_snapshot(
                    project,
                    period,
                    actual_cost=a_cost,
                    actual_benefit=a_benefit,
                    plan_cost=p_cost,
                    plan_benefit=p_benefit,
                    due_count=due,
                    measured_count=measured,
                    measured=measured > 0,
                    kpi_details=details[project] if period == "2026-03" else [],
                    kpi_attainment=D("45.00") if project is campaign else None,
                    status="on_track" if project is campaign else "off_track",
                    actual_payback_period="2026-03" if project is campaign else None,
                    plan_payback_period="2026-03" if project is campaign else None,
                )
            )
    export_measurement(conversion, "2026-03", "14.5", note="from the CRM report")
    export_measurement(conversion, "2026-02", "12.0")
    export_measurement(churn, "2026-03", "7.1", note="@SUM(1+1)", source="import")
    export_money("cost", campaign, "2026-03", "30000.00", note="licences")
    export_money("cost", campaign, "2026-03", "30000.00", kind="plan", note="-plan")
    export_money("cost", portal, "2026-02", "5000.00")  # another period: not in the sheet
    export_money("benefit", campaign, "2026-03", "105000.00", category="revenue", note="+uplift")
    make_decision(
        campaign,
        decided_at=datetime(2026, 3, 10, 14, 0, tzinfo=UTC),
        rationale="=1+1 pilot results are in",
    )
    make_decision(portal, "hold", decided_at=datetime(2026, 2, 27, 9, 0, tzinfo=UTC))
    make_alert(
        portal,
        "missing_measurement",
        kpi_id=churn.id,
        opened_at=datetime(2026, 3, 11, tzinfo=UTC),
        detail="February not measured",
    )
    make_alert(  # resolved before the end of March: not open at the period's end
        campaign,
        "budget_overrun",
        opened_at=datetime(2026, 3, 2, tzinfo=UTC),
        resolved_at=datetime(2026, 3, 20, tzinfo=UTC),
    )
    make_alert(  # resolved in April: still open when March ended
        loyalty,
        "off_track",
        opened_at=datetime(2026, 2, 15, tzinfo=UTC),
        resolved_at=datetime(2026, 4, 3, tzinfo=UTC),
        period="2026-01",
    )
    make_alert(  # opened in April: not open at the end of March
        campaign,
        "gate_overdue",
        opened_at=datetime(2026, 4, 2, tzinfo=UTC),
    )
    return portfolio
