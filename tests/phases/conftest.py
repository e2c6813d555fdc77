"""Scenarios of the gate tests: a business case planned, manual criteria ticked, a gate
ready for go."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crmphase.phases import loaders, services
from tests.factories.auth import make_user
from tests.factories.metrics import make_benefit, make_cost, make_kpi, make_measurement
from tests.factories.programs import make_project

# A KPI with all a gate asks of one: a baseline, a target and their periods.
COST_KPI = {
    "name": "Campaign cost",
    "direction": "down",
    "baseline_value": Decimal("100"),
    "target_value": Decimal("80"),
    "target_period": "2026-12",
}


@pytest.fixture
def plan_business_case(db):
    """``plan_business_case(project, cost="60000.00", benefit="150000.00")`` enters the
    planned cost and benefit of ``period`` (2026-03); None leaves one out."""

    def plan(project, cost="60000.00", benefit="150000.00", period="2026-03"):
        if cost is not None:
            make_cost(project, period, cost, kind="plan")
        if benefit is not None:
            make_benefit(project, period, benefit, kind="plan")

    return plan


@pytest.fixture
def tick_all(db):
    """Tick every manual criterion of the project's current gate (as its manager), through
    ``phases.services.set_criterion``."""

    def tick(project, who=None):
        gate = loaders.current_gate(project)
        for criterion in gate.status.criteria:
            if criterion.kind == "manual" and not criterion.met:
                services.set_criterion(
                    who or project.manager, project, criterion.key, True, "minutes of 2026-02-03"
                )

    return tick


@pytest.fixture
def ready_project(db, plan_business_case, tick_all):
    """``ready_project(phase)``: a project whose gate leaving ``phase`` is ready for go: a
    team, a measured KPI, a planned business case, every manual criterion ticked."""

    def make(phase="strategize", **fields):
        project = make_project(phase=phase, **fields)
        if not project.team_members:
            project.team_members = [make_user("viewer")]
            db.session.commit()
        make_measurement(make_kpi(project, **COST_KPI), "2026-02", "95")
        plan_business_case(project)
        tick_all(project)
        return project

    return make
