"""Factories for the gates domain: KPIs, measurements, plan entries, a gate made ready."""

from __future__ import annotations

from decimal import Decimal

import pytest


@pytest.fixture
def gate_kpi(db):
    from crmphase.metrics.models import Kpi

    def make(project, name="Campaign cost", **kw):
        kw.setdefault("direction", "down")
        kw.setdefault("baseline_value", Decimal("100"))
        kw.setdefault("baseline_period", "2026-01")
        kw.setdefault("target_value", Decimal("80"))
        kw.setdefault("target_period", "2026-12")
        kpi = Kpi(project_id=project.id, name=name, **kw)
        db.session.add(kpi)
        db.session.commit()
        return kpi

    return make


@pytest.fixture
def gate_measurement(db):
    from crmphase.metrics.models import Measurement

    def make(kpi, period="2026-02", value="95"):
        row = Measurement(kpi_id=kpi.id, period=period, value=Decimal(value))
        db.session.add(row)
        db.session.commit()
        return row

    return make


@pytest.fixture
def make_plan(db):
    """``make_plan(project, cost="1000", benefit="3000")`` enters a planned business case."""
    from crmphase.metrics.models import BenefitEntry, CostEntry

    def make(project, cost="60000.00", benefit="150000.00", period="2026-03"):
        if cost is not None:
            db.session.add(
                CostEntry(project_id=project.id, period=period, kind="plan", amount=Decimal(cost))
            )
        if benefit is not None:
            db.session.add(
                BenefitEntry(
                    project_id=project.id, period=period, kind="plan", amount=Decimal(benefit)
                )
            )
        db.session.commit()

    return make


@pytest.fixture
def tick_all(db):
    """Tick every manual criterion of the project's current gate (as its manager)."""
    from crmphase.phases import loaders, services

    def tick(project, who=None):
        gate = loaders.current_gate(project)
        for criterion in gate.status.criteria:
            if criterion.kind == "manual" and not criterion.met:
                services.set_criterion(
                    who or project.manager, project, criterion.key, True, "minutes of 2026-02-03"
                )

    return tick


@pytest.fixture
def ready_project(db, make_project, make_user, gate_kpi, gate_measurement, make_plan, tick_all):
    """``ready_project(phase)``: a project whose gate leaving ``phase`` is ready for go."""

    def make(phase="strategize", **kw):
        project = make_project(phase=phase, **kw)
        if not project.team_members:
            project.team_members = [make_user("viewer")]
            db.session.commit()
        kpi = gate_kpi(project)
        gate_measurement(kpi)
        make_plan(project)
        tick_all(project)
        return project

    return make
