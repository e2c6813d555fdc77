"""Demo gate activity for ``flask demo``: checklists, a few ticks, reviews waiting.

Idempotent: a project that already has a review or a ticked criterion is left alone, so
running the demo twice adds nothing.
"""

from __future__ import annotations

import sqlalchemy as sa

from crmphase.extensions import db
from crmphase.phases import services
from crmphase.phases.models import GateCriterion, GateReview
from crmphase.programs.models import Project

DEMO_EVIDENCE = {
    "customer_needs_factored": "Customer interviews (40) and complaint analysis, workshop 12 Jan",
    "business_case_owned": "Business case v2 signed by the head of marketing",
    "evaluation_criteria_standardised": "Scoring sheet: usability, process fit, ROI/TCO",
    "option_chosen_with_users": "Vendor shortlist scored with 8 sales reps",
    "pilot_reviewed": "Pilot review 3 Mar; response-rate target moved from 5% to 4.5%",
    "data_cleansing_validated": "Data owner sign-off on the de-duplicated customer file",
    "users_trained": "Service agents trained by senior agents, 2 sessions",
    "upgrade_plan_dated": "Upgrade to release 2 planned for Q3",
}


def add_demo_gates() -> list[str]:
    """Give every active demo project its checklist and some history; return report lines."""
    projects = db.session.scalars(
        sa.select(Project).where(Project.state == "active").order_by(Project.id)
    ).all()
    touched = 0
    for index, project in enumerate(projects):
        services.enter_gate(project)
        db.session.commit()
        if _has_activity(project):
            continue
        gate = services.current_gate(project)
        manual = [c for c in gate.status.criteria if c.kind == "manual"]
        # Tick all but the last manual criterion, so most gates are one step from ready.
        for criterion in manual[: max(len(manual) - 1, 0) if index % 2 else len(manual)]:
            evidence = DEMO_EVIDENCE.get(criterion.key, "Checked in the weekly project review")
            services.set_criterion(project.manager, project, criterion.key, True, evidence)
        if index % 3 == 0:
            services.request_review(project.manager, project, "Ready for the steering committee")
        touched += 1
    return [f"gates: {touched} demo project(s) given checklist ticks and reviews"]


def _has_activity(project: Project) -> bool:
    reviewed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(GateReview)
        .where(GateReview.project_id == project.id)
    )
    ticked = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(GateCriterion)
        .where(GateCriterion.project_id == project.id, GateCriterion.met.is_(True))
    )
    return bool(reviewed or ticked)
