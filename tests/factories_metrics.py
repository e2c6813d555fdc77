"""Factory fixtures of the metrics domain: KPIs, measurements and money entries."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

_seq = itertools.count(1)


@pytest.fixture
def make_kpi(db, make_project):
    """``make_kpi(project=..., **fields)``: an up KPI from 0 to 100, 2026-01 to 2026-11."""
    from crmphase.metrics.models import Kpi

    def make(project=None, **kw):
        kw.setdefault("name", f"KPI {next(_seq)}")
        kw.setdefault("unit", "%")
        kw.setdefault("direction", "up")
        kw.setdefault("baseline_value", Decimal("0"))
        kw.setdefault("baseline_period", "2026-01")
        kw.setdefault("target_value", Decimal("100"))
        kw.setdefault("target_period", "2026-11")
        kw.setdefault("cadence", "monthly")
        kpi = Kpi(project=project or make_project(phase="execute"), **kw)
        db.session.add(kpi)
        db.session.commit()
        return kpi

    return make


@pytest.fixture
def make_measurement(db):
    from crmphase.metrics.models import Measurement

    def make(kpi, period: str, value, note: str = "", source: str = "manual"):
        measurement = Measurement(
            kpi_id=kpi.id, period=period, value=Decimal(str(value)), note=note, source=source
        )
        db.session.add(measurement)
        db.session.commit()
        return measurement

    return make


@pytest.fixture
def make_money(db):
    """``make_money(project, "cost"|"benefit", period, amount, kind="actual")``."""
    from crmphase.metrics.models import BenefitEntry, CostEntry

    def make(project, what: str, period: str, amount, kind: str = "actual", **kw):
        model = CostEntry if what == "cost" else BenefitEntry
        if what == "cost":
            kw.setdefault("category", "services")
        entry = model(
            project_id=project.id, period=period, kind=kind, amount=Decimal(str(amount)), **kw
        )
        db.session.add(entry)
        db.session.commit()
        return entry

    return make
