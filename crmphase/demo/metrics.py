"""The demo portfolio's KPIs, measurements (with a few gaps) and plan and actual money.

:func:`crmphase.demo.load_demo` calls :func:`load_metrics_demo` with the names of the
demo projects.
Running it again adds nothing: a project that already has KPIs is left alone. The numbers
are drawn from a random generator seeded with the project's name, so every run of the demo
shows the same portfolio.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from crmphase import clock
from crmphase.extensions import db
from crmphase.metrics.models import BenefitEntry, CostEntry, Kpi, Measurement
from crmphase.periods import Period, period_range
from crmphase.programs.models import Project


@dataclass(frozen=True)
class KpiSpec:
    name: str
    unit: str
    direction: str
    baseline: Decimal
    target: Decimal
    cadence: str = "monthly"


# Per department: the benefit objectives a CRMO would expect to see.
KPIS_BY_DEPARTMENT: dict[str, tuple[KpiSpec, ...]] = {
    "marketing": (
        KpiSpec("Campaign response rate", "%", "up", Decimal("2.0"), Decimal("3.5")),
        KpiSpec("Cost per lead", "EUR", "down", Decimal("48"), Decimal("30"), "quarterly"),
    ),
    "sales": (
        KpiSpec("Win rate", "%", "up", Decimal("18"), Decimal("25")),
        KpiSpec("Sales cycle", "days", "down", Decimal("64"), Decimal("45")),
    ),
    "service": (
        KpiSpec("Average handling time", "min", "down", Decimal("9.5"), Decimal("6.5")),
        KpiSpec("First-contact resolution", "%", "up", Decimal("61"), Decimal("75")),
    ),
    "e-marketing": (
        KpiSpec("Web conversion rate", "%", "up", Decimal("1.2"), Decimal("2.0")),
        KpiSpec("Email opt-outs", "per 1,000", "down", Decimal("6.0"), Decimal("3.0")),
    ),
    "it": (
        KpiSpec("Duplicate customer records", "%", "down", Decimal("14"), Decimal("3")),
        KpiSpec("Customer data completeness", "%", "up", Decimal("72"), Decimal("95")),
    ),
    "other": (KpiSpec("Customer satisfaction", "score", "up", Decimal("7.1"), Decimal("8.0")),),
}
TRACKED_PHASES = ("execute", "manage")
MONEY_PHASES = ("evaluate", "execute", "manage")


def _cents(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(Decimal("0.01"))


def _span(project: Project, today: date) -> tuple[Period, Period]:
    start = project.planned_start or project.phase_entered_on
    end = project.planned_end or start.replace(year=start.year + 1)
    first = Period.of(start)
    return first, max(Period.of(end), first.shift(5))


def seed_project(project: Project, *, today: date | None = None, phase: str | None = None) -> bool:
    """Give one project its demo KPIs, measurements and money; False when it has KPIs.

    ``phase`` is the phase the demo will bring the project to (default: its phase now):
    measurements and money are seeded as if it had got there on its planned dates."""
    today = today or clock.today()
    phase = phase or project.phase
    if db.session.scalar(sa.select(sa.func.count()).where(Kpi.project_id == project.id)):
        return False
    rng = random.Random(f"crmphase-demo:{project.name}")  # demo numbers, not secrets
    first, last = _span(project, today)
    done = Period.of(today).previous()
    tracked = phase in TRACKED_PHASES
    specs = KPIS_BY_DEPARTMENT.get(project.department, KPIS_BY_DEPARTMENT["other"])
    baseline_period = Period.of(project.phase_entered_on) if tracked else first
    baseline_period = min(baseline_period, done)
    target_period = max(last, baseline_period.shift(6))
    for index, spec in enumerate(specs):
        kpi = Kpi(
            project_id=project.id,
            name=spec.name,
            unit=spec.unit,
            direction=spec.direction,
            baseline_value=spec.baseline,
            baseline_period=str(baseline_period),
            target_value=spec.target,
            target_period=str(target_period),
            cadence=spec.cadence,
            owner_id=project.manager_id,
        )
        db.session.add(kpi)
        db.session.flush()
        if not tracked:
            continue
        months = period_range(baseline_period, done)
        span = max(1, target_period.months_since(baseline_period))
        pace = rng.uniform(0.55, 1.15)  # some projects keep up, some fall behind
        for step, period in enumerate(months):
            if spec.cadence == "quarterly" and not period.is_quarter_end:
                continue
            if index == 0 and step == len(months) - 2 and rng.random() < 0.6:
                continue  # a gap: a due measurement nobody entered
            progress = min(1.2, pace * (step + 1) / span)
            noise = rng.uniform(-0.04, 0.04) * float(spec.target - spec.baseline)
            value = float(spec.baseline) + progress * float(spec.target - spec.baseline) + noise
            db.session.add(
                Measurement(
                    kpi_id=kpi.id,
                    period=str(period),
                    value=Decimal(str(round(value, 2))),
                    note="monthly report" if step % 3 else "",
                    source="manual",
                    recorded_by_id=project.manager_id,
                )
            )
    if phase in MONEY_PHASES:
        _seed_money(project, rng, first, last, done, actual=tracked)
    return True


def _seed_money(project, rng, first: Period, last: Period, done: Period, *, actual: bool):
    budget = float(project.budget or 120000)
    months = period_range(first, last)
    monthly_cost = budget / len(months)
    payback_months = period_range(first.shift(2), last.shift(12))
    monthly_benefit = budget * rng.uniform(1.3, 1.9) / len(payback_months)
    overrun = rng.uniform(0.9, 1.25)
    realisation = rng.uniform(0.5, 1.2)
    for period in months:
        db.session.add(
            CostEntry(
                project_id=project.id,
                period=str(period),
                kind="plan",
                amount=_cents(monthly_cost),
                category=rng.choice(("software", "services", "people")),
                note="business case",
            )
        )
        if actual and period <= done:
            db.session.add(
                CostEntry(
                    project_id=project.id,
                    period=str(period),
                    kind="actual",
                    amount=_cents(monthly_cost * overrun * rng.uniform(0.85, 1.15)),
                    category=rng.choice(("software", "services", "people", "training")),
                    recorded_by_id=project.manager_id,
                )
            )
    for period in payback_months:
        db.session.add(
            BenefitEntry(
                project_id=project.id,
                period=str(period),
                kind="plan",
                amount=_cents(monthly_benefit),
                category="business case",
            )
        )
        if actual and period <= done:
            db.session.add(
                BenefitEntry(
                    project_id=project.id,
                    period=str(period),
                    kind="actual",
                    amount=_cents(monthly_benefit * realisation * rng.uniform(0.8, 1.2)),
                    category="realised",
                    recorded_by_id=project.manager_id,
                )
            )


def load_metrics_demo(
    project_names: Iterable[str] | None = None,
    *,
    today: date | None = None,
    phases: Mapping[str, str] | None = None,
) -> list[str]:
    """Seed the named projects (all projects when ``None``); idempotent. Returns a line per
    project seeded, for the demo command's output."""
    query = sa.select(Project).order_by(Project.id)
    if project_names is not None:
        names = list(project_names)
        if not names:
            return []
        query = query.where(Project.name.in_(names))
    lines = []
    for project in db.session.scalars(query).all():
        phase = (phases or {}).get(project.name)
        if seed_project(project, today=today, phase=phase):
            lines.append(f"metrics: KPIs, measurements and money for '{project.name}'")
    db.session.commit()
    return lines
