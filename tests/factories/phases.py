"""Factories of the phases domain: gate criteria, reviews and decisions."""

from __future__ import annotations

from datetime import datetime

from crmphase.models import GateCriterion, GateDecision, GateReview, Project, User

from .auth import make_user
from .base import fixture_of, next_number, save


def make_criterion(project: Project, key: str | None = None, **fields) -> GateCriterion:
    """``make_criterion(project, "dpo_consulted", required=False)``: one more manual
    criterion of the gate ``project`` is in, placed after the others.

    A direct row: the criteria a project gets on entering a phase come from
    ``phases.services.enter_gate`` (``make_project`` calls it); this adds one the defaults
    and templates do not have.
    """
    key = key or f"criterion_{next_number()}"
    fields.setdefault("phase", project.phase)
    fields.setdefault("label", key.replace("_", " ").capitalize())
    fields.setdefault("kind", "manual")
    fields.setdefault("position", 99)
    return save(GateCriterion(project_id=project.id, key=key, **fields))


def make_review(
    project: Project,
    *,
    requested_by: User | None = None,
    requested_at: datetime | None = None,
    **fields,
) -> GateReview:
    """``make_review(project, requested_at=..., status="pending")``: a review of the gate
    ``project`` is in, requested by its manager (now, unless ``requested_at``).

    A direct row: ``phases.services.request_review`` stamps the clock's now and checks
    who asks; tests of queues and reminders need reviews of any age and status.
    """
    fields.setdefault("phase", project.phase)
    fields.setdefault("status", "pending")
    review = GateReview(
        project_id=project.id, requested_by_id=(requested_by or project.manager).id, **fields
    )
    if requested_at is not None:
        review.requested_at = requested_at
    return save(review)


def make_decision(
    project: Project, decision: str = "go", *, decided_by: User | None = None, **fields
) -> GateDecision:
    """``make_decision(project, "hold", decided_at=...)``: a decision of a new steering
    member (or ``decided_by``) on the evaluate gate, taking the project to execute.

    A direct row, the project left as it is: ``phases.services.decide`` checks the
    criteria and moves the project; tests of what is reported about past decisions need
    decisions of any date without driving projects through their gates.
    """
    fields.setdefault("phase", "evaluate")
    fields.setdefault("from_state", "active")
    fields.setdefault("resulting_phase", "execute")
    fields.setdefault("resulting_state", "active")
    fields.setdefault("rationale", "Every criterion met; the business case holds.")
    if "decided_by_id" not in fields:
        fields["decided_by_id"] = (decided_by or make_user("steering")).id
    return save(GateDecision(project_id=project.id, decision=decision, **fields))


make_criterion_fixture = fixture_of(make_criterion)
make_review_fixture = fixture_of(make_review)
make_decision_fixture = fixture_of(make_decision)
