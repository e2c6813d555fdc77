"""The metrics demo data: plausible, valid, idempotent."""

from datetime import date

import sqlalchemy as sa

from crmphase.demo.metrics import load_metrics_demo
from crmphase.metrics.loaders import load_figures
from crmphase.metrics.models import BenefitEntry, CostEntry, Kpi, Measurement
from crmphase.periods import Period

TODAY = date(2026, 4, 15)


def counts(db):
    return [
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Kpi, Measurement, CostEntry, BenefitEntry)
    ]


def test_demo_seeds_named_projects_once(db, make_project):
    running = make_project(
        "Service desk", department="service", phase="execute", phase_entered_on=date(2026, 1, 1)
    )
    idea = make_project("Loyalty idea", department="marketing", phase="strategize")
    lines = load_metrics_demo(["Service desk", "Loyalty idea", "Unknown"], today=TODAY)
    assert len(lines) == 2
    first = counts(db)
    assert first[0] == 4 and first[1] > 0 and first[2] > 0
    assert load_metrics_demo(["Service desk", "Loyalty idea"], today=TODAY) == []
    assert counts(db) == first
    periods = db.session.scalars(sa.select(Measurement.period)).all()
    assert max(periods) <= "2026-03"  # nothing for the running month or later
    kinds = set(
        db.session.scalars(sa.select(CostEntry.kind).where(CostEntry.project_id == idea.id))
    )
    assert kinds == set()  # strategize: no business case yet
    figures = load_figures([running.id], Period(2026, 3))[running.id]
    assert figures.actual.cumulative_cost > 0 and figures.plan.cumulative_cost > 0
    assert all(k.latest is not None for k in figures.kpis)


def test_demo_without_names_seeds_every_project_and_empty_list_nothing(db, make_project):
    make_project("Web shop", department="e-marketing", phase="manage")
    assert load_metrics_demo([], today=TODAY) == []
    assert len(load_metrics_demo(today=TODAY)) == 1
