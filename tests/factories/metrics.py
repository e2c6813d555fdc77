"""Factories of the metrics domain: KPIs, measurements, costs, benefits, ROI snapshots and
alerts."""

from __future__ import annotations

from decimal import Decimal

from crmphase import clock
from crmphase.extensions import db
from crmphase.metrics.roi import roi_pct
from crmphase.metrics.services import refresh_snapshot_totals
from crmphase.models import Alert, BenefitEntry, CostEntry, Kpi, Measurement, Project, RoiSnapshot

from .base import fixture_of, money, next_number, save
from .programs import make_project


def make_kpi(project: Project | None = None, **fields) -> Kpi:
    """``make_kpi(project, name="Churn", direction="down", ...)``: a monthly KPI in % that
    goes up from 0 (2026-01) to 100 (2026-11), of a new project in execute when not given.

    A direct row: ``metrics.services.create_kpi`` checks the actor and records an event,
    which tests that measure, report or alert on a KPI do not need.
    """
    fields.setdefault("name", f"KPI {next_number()}")
    fields.setdefault("unit", "%")
    fields.setdefault("direction", "up")
    fields.setdefault("baseline_value", Decimal("0"))
    fields.setdefault("baseline_period", "2026-01")
    fields.setdefault("target_value", Decimal("100"))
    fields.setdefault("target_period", "2026-11")
    fields.setdefault("cadence", "monthly")
    return save(Kpi(project=project or make_project(phase="execute"), **fields))


def make_measurement(kpi: Kpi, period: str, value, **fields) -> Measurement:
    """``make_measurement(kpi, "2026-03", "14.5", note="from the CRM report")``: the value
    of ``kpi`` for ``period`` (a manual one, recorded now, unless told otherwise).

    A direct row: ``metrics.services.record_measurement`` also keeps revisions, resolves
    alerts and records an event; the tests of that path call it, the others need values of
    any period in place, events and alerts untouched.
    """
    return save(Measurement(kpi_id=kpi.id, period=period, value=Decimal(str(value)), **fields))


def make_cost(project: Project, period: str, amount, kind: str = "actual", **fields) -> CostEntry:
    """``make_cost(project, "2026-02", "1000", kind="plan", category="software")``: a cost
    entry of ``project``.

    A direct row: ``metrics.services.add_money_entry`` checks the actor and records an
    event; the tests of money entries call it, the others need money in place.
    """
    return save(
        CostEntry(project_id=project.id, period=period, kind=kind, amount=money(amount), **fields)
    )


def make_benefit(
    project: Project, period: str, amount, kind: str = "actual", **fields
) -> BenefitEntry:
    """``make_benefit(project, "2026-03", "5000", category="revenue")``: a benefit entry of
    ``project`` (a direct row, as :func:`make_cost`)."""
    return save(
        BenefitEntry(
            project_id=project.id, period=period, kind=kind, amount=money(amount), **fields
        )
    )


def make_snapshot(
    project: Project,
    period: str,
    *,
    cost="0",
    benefit="0",
    plan_cost="0",
    plan_benefit="0",
    **columns,
) -> RoiSnapshot:
    """``make_snapshot(project, "2026-09", cost=..., benefit=..., plan_cost=...,
    plan_benefit=..., due_count=2, measured_count=1, kpi_details=[...], status=...)``: the
    stored ROI snapshot of ``project`` for ``period``.

    Net benefit and ROI % follow from the cumulative cost and benefit (SPEC §4); NPV is the
    net benefit and ``measured`` is whether every due KPI-period was measured, unless given;
    program, department, phase, state and budget are the project's, unless given. Any other
    stored column is a keyword.

    A direct row: the ``roi_snapshot`` job computes snapshots from entries and KPIs; the
    dashboard and export tests need snapshots of chosen figures and months at once.
    """
    cost, benefit, plan_cost, plan_benefit = map(money, (cost, benefit, plan_cost, plan_benefit))
    values = {
        "program_id": project.program_id,
        "department": project.department,
        "phase": project.phase,
        "state": project.state,
        "budget": project.budget,
        "actual_cumulative_cost": cost,
        "actual_cumulative_benefit": benefit,
        "actual_net_benefit": benefit - cost,
        "actual_roi_pct": roi_pct(benefit - cost, cost),
        "actual_npv": benefit - cost,
        "plan_cumulative_cost": plan_cost,
        "plan_cumulative_benefit": plan_benefit,
        "plan_net_benefit": plan_benefit - plan_cost,
        "plan_roi_pct": roi_pct(plan_benefit - plan_cost, plan_cost),
        "plan_npv": plan_benefit - plan_cost,
        "kpi_details": [],
        "due_count": 0,
        "measured_count": 0,
        "status": "no_data",
    }
    values.update(columns)
    for npv in ("actual_npv", "plan_npv"):
        values[npv] = money(values[npv])
    values.setdefault("measured", values["measured_count"] == values["due_count"])
    snapshot = RoiSnapshot(project_id=project.id, period=period, **values)
    db.session.add(snapshot)
    refresh_snapshot_totals([period])  # the month's stored sums, as the snapshot job writes them
    return save(snapshot)


def kpi_detail(
    name: str, status: str, attainment=None, expected=None, latest=None, kpi_id=1
) -> dict:
    """One entry of a snapshot's ``kpi_details``, as the snapshot job stores it."""
    return {
        "kpi_id": kpi_id,
        "name": name,
        "unit": "%",
        "latest": latest,
        "attainment": attainment,
        "expected": expected,
        "status": status,
    }


def make_alert(
    project: Project,
    kind: str = "missing_measurement",
    period: str = "2026-02",
    *,
    resolved: bool = False,
    **fields,
) -> Alert:
    """``make_alert(project, "budget_overrun", "2026-02", kpi_id=..., opened_at=...)``: an
    alert of ``project``, open unless ``resolved`` (resolved now) or ``resolved_at``.

    A direct row: the ``measurement_check`` and ``roi_snapshot`` jobs open and resolve
    alerts from what they find; the tests of pages, lists and exports need alerts of any
    kind, age and state without the data behind them.
    """
    if resolved:
        fields.setdefault("resolved_at", clock.now())
    return save(Alert(project_id=project.id, kind=kind, period=period, **fields))


make_kpi_fixture = fixture_of(make_kpi)
make_measurement_fixture = fixture_of(make_measurement)
make_cost_fixture = fixture_of(make_cost)
make_benefit_fixture = fixture_of(make_benefit)
make_snapshot_fixture = fixture_of(make_snapshot)
make_alert_fixture = fixture_of(make_alert)
