"""The demo portfolio's gate activity: drive each demo project to its target phase.

Every step goes through the real services: the manager ticks the manual criteria with
evidence and requests a review, a steering member who does not manage the project says go.
When an automatic criterion is not met yet (no KPI or business case entered by the metrics
demo, say), the project stays where it is with its review waiting in the steering queue.

Idempotent: a project already at its target phase is left alone, ticks that are already
there write nothing, and a second review is never requested while one waits.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from crmphase import clock
from crmphase.auth.models import User
from crmphase.auth.rules import Action, roles_for
from crmphase.errors import DomainError
from crmphase.extensions import db
from crmphase.phases import loaders, services
from crmphase.phases.rules import PHASE_ORDER, Phase
from crmphase.programs.models import Project

DEMO_EVIDENCE = {
    "customer_needs_factored": "Customer interviews (40) and complaint analysis, workshop 12 Jan",
    "business_case_owned": "Business case v2 signed by the business lead",
    "evaluation_criteria_standardised": "Scoring sheet: usability, process fit, ROI/TCO",
    "option_chosen_with_users": "Vendor shortlist scored with eight users from the business",
    "pilot_reviewed": "Pilot review held; one KPI target fine-tuned with a reason",
    "data_cleansing_validated": "Data owner signed off the de-duplicated customer file",
    "users_trained": "Users trained by senior colleagues from their own department",
    "upgrade_plan_dated": "Upgrade to the next release planned for next quarter",
}
RATIONALE = {
    Phase.STRATEGIZE: "Objective, leads and KPIs agreed; the business owns the case.",
    Phase.EVALUATE: "Bite-size, business case approved with a planned ROI, option chosen.",
    Phase.EXECUTE: "Pilot measured and reviewed; users trained; data validated.",
}


def _decider(project: Project) -> User | None:
    """A steering member of the program (else any steering user or CRMO) not managing it."""
    candidates = [*project.program.steering_members]
    candidates += db.session.scalars(
        sa.select(User)
        .where(User.role.in_([r.value for r in roles_for(Action.GATE_DECIDE)]))
        .order_by(User.id)
    ).all()
    return next((u for u in candidates if u.id != project.manager_id), None)


def _tick_all(project: Project) -> None:
    for criterion in loaders.current_gate(project).status.criteria:
        if criterion.kind == "manual" and not criterion.met:
            evidence = DEMO_EVIDENCE.get(criterion.key, "Checked in the weekly project review")
            services.set_criterion(project.manager, project, criterion.key, True, evidence)


def gate_dates(project: Project) -> dict[Phase, date]:
    """When the demo takes each gate: strategize ends two months before the planned start,
    evaluate at the planned start, execute the day after the planned end (never later than
    today), so the history of decisions matches the measurements the demo seeds."""
    if project.planned_start is None:
        return {}
    start, end = project.planned_start, project.planned_end or project.planned_start
    today = clock.today()
    dates = {
        Phase.STRATEGIZE: start - timedelta(days=61),
        Phase.EVALUATE: start,
        Phase.EXECUTE: end + timedelta(days=1),
    }
    return {phase: min(day, today) for phase, day in dates.items()}


def _at(day: date | None):
    if day is None:
        return nullcontext()
    return clock.frozen(datetime.combine(day, time(10, 0), tzinfo=UTC))


def drive_to(project: Project, target: Phase, dates: dict[Phase, date] | None = None) -> int:
    """Take ``project`` through go decisions up to ``target``; return how many were taken.
    ``dates`` says on which day each gate is taken (default: now)."""
    decider = _decider(project)
    taken = 0
    while (
        decider is not None
        and project.state == "active"
        and PHASE_ORDER.index(Phase(project.phase)) < PHASE_ORDER.index(target)
    ):
        phase = Phase(project.phase)
        with _at((dates or {}).get(phase)):
            _tick_all(project)
            if loaders.pending_review(project.id) is None:
                services.request_review(
                    project.manager, project, "Ready for the steering committee"
                )
            try:
                services.decide(decider, project, "go", RATIONALE.get(phase, "Gate criteria met."))
            except DomainError:
                db.session.rollback()
                break  # an automatic criterion is not met yet; the review waits in the queue
        taken += 1
    return taken


def add_demo_gates(targets: Mapping[str, str]) -> list[str]:
    """Drive every demo project (project name → the phase the demo portfolio gives it) to
    its phase; return report lines."""
    projects = db.session.scalars(
        sa.select(Project).where(Project.name.in_(list(targets))).order_by(Project.id)
    ).all()
    moved, waiting = 0, 0
    for project in projects:
        services.enter_gate(project)
        db.session.commit()
        moved += drive_to(project, Phase(targets[project.name]), gate_dates(project))
        if project.phase != targets[project.name]:
            waiting += 1
    return [f"gates: {moved} go decision(s) taken; {waiting} project(s) waiting for a review"]


def leave_a_review_waiting(project_name: str) -> list[str]:
    """The steering queue of a real program is rarely empty: one manager asks for a review."""
    project = db.session.scalar(sa.select(Project).where(Project.name == project_name))
    if project is None or loaders.pending_review(project.id) is not None:
        return []
    services.request_review(project.manager, project, "Can we start evaluating vendors?")
    return [f"gates: a review of '{project_name}' waits for the steering committee"]
