"""Every write of the gates (SPEC §3): criteria, reviews, decisions and criteria templates.

The rules live in :mod:`crmphase.phases.rules` and the reads they take in
:mod:`crmphase.phases.loaders`; this module saves what the rules decide, writes the audit
trail and commits. Each public function that changes something is one transaction and
writes exactly one audit event when it changes anything (``enter_gate`` is the exception:
its caller commits and logs).
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from crmphase import clock
from crmphase.audit.services import record_event
from crmphase.auth.policy import Action, authorize
from crmphase.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from crmphase.extensions import db
from crmphase.integrations.services import announce_gate_decided, announce_review_requested
from crmphase.phases import rules
from crmphase.phases.loaders import (
    Gate,
    criterion_rows,
    current_gate,
    gate_definitions,
    pending_review,
    program_template,
)
from crmphase.phases.models import CriterionTemplate, GateCriterion, GateDecision, GateReview
from crmphase.phases.rules import (
    CriterionDefinition,
    CriterionKind,
    DecisionKind,
    Phase,
    ProjectState,
)
from crmphase.programs.models import Program, Project
from crmphase.versioning import check_version, versioned_commit

MAX_TEXT = 5000


# --- criteria of a gate ---------------------------------------------------------------------


def enter_gate(project: Project) -> list[GateCriterion]:
    """Give ``project`` the criteria of the gate leaving its current phase. No commit.

    The criteria are copied from the defaults and the program's template when the project
    enters the phase, so a later template change does not move the goalposts of a gate the
    project is already in. Entering again (after a recycle) keeps the rows already there and
    adds criteria the template gained since.
    """
    if project.id is None:
        db.session.flush()
    existing = {row.key: row for row in criterion_rows(project.id, project.phase)}
    position = max((row.position for row in existing.values()), default=-1) + 1
    for definition in gate_definitions(project.program_id, project.phase):
        if definition.key in existing:
            continue
        row = GateCriterion(
            project_id=project.id,
            phase=project.phase,
            key=definition.key,
            label=definition.label,
            help=definition.help,
            kind=definition.kind.value,
            required=definition.required,
            position=position,
            met=False,
            evidence="",
        )
        position += 1
        db.session.add(row)
        existing[row.key] = row
    db.session.flush()
    return sorted(existing.values(), key=lambda r: (r.position, r.key))


# --- ticking manual criteria -----------------------------------------------------------------


def _criterion_values(row: GateCriterion) -> dict:
    return {"key": row.key, "phase": row.phase, "met": row.met, "evidence": row.evidence}


def set_criterion(
    actor, project: Project, key: str, met: bool, evidence: str | None
) -> GateCriterion:
    """Tick (with evidence) or untick a manual criterion of the project's current gate."""
    authorize(Action.GATE_CRITERION, project, user=actor)  # killed/retired: the CRMO only
    rows = {row.key: row for row in enter_gate(project)}
    row = rows.get(key)
    if row is None:
        known = ", ".join(rows) or "none"
        raise NotFound(f"the {project.phase} gate has no criterion '{key}' (it has: {known})")
    if row.kind == CriterionKind.AUTO:
        raise ValidationFailed.one(
            "met", f"'{row.label}' is computed from the project's data; it cannot be ticked by hand"
        )
    evidence = (evidence or "").strip()
    if len(evidence) > MAX_TEXT:
        raise ValidationFailed.one("evidence", f"use at most {MAX_TEXT} characters")
    if met and not evidence:
        raise ValidationFailed.one(
            "evidence", "say what shows this criterion is met (a document, a meeting, a result)"
        )
    if not met and not evidence:
        evidence = ""
    before = _criterion_values(row)
    if row.met == bool(met) and (row.evidence or "") == evidence:
        db.session.rollback()
        return row
    row.met = bool(met)
    row.evidence = evidence
    row.checked_by_id = actor.id
    row.checked_at = clock.now()
    record_event(
        actor,
        "gate.criterion.checked" if met else "gate.criterion.unchecked",
        "gate_criterion",
        row.id,
        before=before,
        after=_criterion_values(row),
        project_id=project.id,
        program_id=project.program_id,
    )
    db.session.commit()
    return row


def _refuse_closed(project: Project, what: str) -> None:
    if project.is_closed:
        raise Conflict(
            f"the project is {project.state}; {what} until the CRMO reopens it",
            state=project.state,
        )


# --- review requests -------------------------------------------------------------------------


def request_review(actor, project: Project, note: str | None = "") -> GateReview:
    """The manager asks the steering committee to decide the project's gate."""
    authorize(Action.GATE_REVIEW_REQUEST, project, user=actor)
    _refuse_closed(project, "no review can be requested")
    note = (note or "").strip()
    if len(note) > MAX_TEXT:
        raise ValidationFailed.one("note", f"use at most {MAX_TEXT} characters")
    # Serialise concurrent requests for the same project (SQLite already serialises writers).
    db.session.execute(sa.select(Project.id).where(Project.id == project.id).with_for_update())
    waiting = pending_review(project.id)
    if waiting is not None:
        raise Conflict(
            f"a review of this gate is already waiting (requested {waiting.requested_at:%Y-%m-%d});"
            " the steering committee decides it first",
            review_id=waiting.id,
        )
    enter_gate(project)
    review = GateReview(
        project_id=project.id,
        phase=project.phase,
        note=note,
        status="pending",
        requested_by_id=actor.id,
        requested_at=clock.now(),
    )
    db.session.add(review)
    db.session.flush()
    record_event(
        actor,
        "gate.review.requested",
        "gate_review",
        review.id,
        after={"phase": review.phase, "note": note, "status": "pending"},
        project_id=project.id,
        program_id=project.program_id,
    )
    announce_review_requested(review, project)
    db.session.commit()
    return review


def withdraw_review(actor, project: Project) -> GateReview:
    """The manager takes back a pending review request."""
    authorize(Action.GATE_REVIEW_REQUEST, project, user=actor)
    review = pending_review(project.id)
    if review is None:
        raise Conflict("no review of this project is waiting")
    review.status = "withdrawn"
    review.closed_at = clock.now()
    record_event(
        actor,
        "gate.review.withdrawn",
        "gate_review",
        review.id,
        before={"status": "pending"},
        after={"status": "withdrawn"},
        project_id=project.id,
        program_id=project.program_id,
    )
    db.session.commit()
    return review


# --- decisions -------------------------------------------------------------------------------


def _position_values(project: Project) -> dict:
    return {
        "phase": project.phase,
        "state": project.state,
        "phase_entered_on": project.phase_entered_on,
        "last_review_on": project.last_review_on,
    }


def _refusal(exc: rules.DecisionRefused, gate: Gate | None):
    detail = "; ".join(exc.reasons)
    if exc.status == 403:
        return Forbidden(detail)
    if exc.status == 422:
        field = "to_phase" if "to_phase" in detail or "phase" in detail else "decision"
        return ValidationFailed([FieldError(field, r) for r in exc.reasons])
    if gate is not None and exc.reasons == gate.status.blocking_reasons and gate.unmet:
        return Conflict(f"the {gate.status.phase} gate is not ready: {detail}", unmet=gate.unmet)
    return Conflict(detail)


def _reset_manual(project: Project, phase: Phase) -> list[str]:
    rows = criterion_rows(project.id, phase)
    keys = set(
        rules.manual_reset_keys(
            phase,
            [CriterionDefinition(r.key, r.label, CriterionKind(r.kind)) for r in rows],
        )
    )
    reset = []
    for row in rows:
        if row.key in keys and (row.met or row.evidence):
            row.met = False
            row.evidence = ""
            row.checked_by_id = None
            row.checked_at = None
            reset.append(row.key)
    return reset


def decide(
    actor,
    project: Project,
    decision: str,
    rationale: str | None,
    to_phase: str | None = None,
    expected_version: int | None = None,
) -> GateDecision:
    """Take a gate decision (go, hold, kill, recycle, retire, reopen) with its rationale.

    ``expected_version`` (the project's version the decider looked at) makes a decision
    taken on a stale view fail with 409; two decisions on the same gate at once leave
    exactly one applied, the other gets 409.
    """
    action = Action.GATE_REOPEN if decision == DecisionKind.REOPEN else Action.GATE_DECIDE
    authorize(action, project, user=actor)
    looked_at = check_version(
        project,
        expected_version,
        "project",
        required=False,
        advice="nothing was decided: reload the gate and decide again",
    )
    rationale = (rationale or "").strip()
    if not rationale:
        raise ValidationFailed.one("rationale", "give the reason for the decision")
    if len(rationale) > MAX_TEXT:
        raise ValidationFailed.one("rationale", f"use at most {MAX_TEXT} characters")
    gate = current_gate(project) if decision == DecisionKind.GO else None
    position = rules.Position(Phase(project.phase), ProjectState(project.state))
    try:
        outcome = rules.decide(
            position,
            decision,
            gate=gate.status if gate else None,
            to_phase=to_phase or None,
            actor_role=actor.role,
            actor_manages_project=project.manager_id == actor.id,
        )
    except rules.DecisionRefused as exc:
        db.session.rollback()
        raise _refusal(exc, gate) from None

    with versioned_commit(
        project,
        "project",
        looked_at,
        conflict_detail="another decision on this gate was taken at the same moment; "
        "reload the gate",
    ):
        return _apply(actor, project, DecisionKind(decision), rationale, outcome)


def _apply(actor, project, decision, rationale, outcome) -> GateDecision:
    """Save the outcome of a decision the rules allowed, with its audit event. No commit."""
    today = clock.today()
    before = _position_values(project)
    from_phase, from_state = project.phase, project.state
    review = pending_review(project.id)
    reset: list[str] = []
    if outcome.reset_manual_gate is not None:
        reset = _reset_manual(project, outcome.reset_manual_gate)
    if outcome.periodic_review:
        project.last_review_on = today
        # The next quarterly review needs fresh evidence.
        reset = _reset_manual(project, Phase.MANAGE)
    project.phase = outcome.phase.value
    project.state = outcome.state.value
    if outcome.phase_changed:
        project.phase_entered_on = today
    project.updated_at = clock.now()
    row = GateDecision(
        project_id=project.id,
        review_id=review.id if review else None,
        decision=decision.value,
        rationale=rationale,
        phase=from_phase,
        from_state=from_state,
        to_phase=outcome.phase.value if decision == DecisionKind.RECYCLE else None,
        resulting_phase=outcome.phase.value,
        resulting_state=outcome.state.value,
        decided_by_id=actor.id,
        decided_at=clock.now(),
    )
    db.session.add(row)
    if review is not None:
        review.status = "decided"
        review.closed_at = clock.now()
    db.session.flush()
    if outcome.phase_changed:
        enter_gate(project)
    after = {
        **_position_values(project),
        "decision": decision.value,
        "rationale": rationale,
        "to_phase": row.to_phase,
        "review_id": row.review_id,
    }
    if reset:
        after["criteria_reset"] = reset
    record_event(
        actor,
        f"gate.{decision.value}",
        "gate_decision",
        row.id,
        before=before,
        after=after,
        project_id=project.id,
        program_id=project.program_id,
    )
    announce_gate_decided(row, project)
    return row


# --- criteria templates ----------------------------------------------------------------------


def _slug(label: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
    return slug[:56] or "criterion"


def add_template_criterion(
    actor, program: Program, phase: str, label: str, required: bool, help_text: str = ""
) -> CriterionTemplate:
    """The CRMO adds a manual criterion (required or advisory) to a gate of a program."""
    authorize(Action.PROGRAM_MANAGE, user=actor)
    errors = []
    if phase not in {p.value for p in Phase}:
        errors.append(FieldError("phase", f"choose one of {', '.join(Phase)}"))
    label = (label or "").strip()
    if not label:
        errors.append(FieldError("label", "say what must be true to pass the gate"))
    elif len(label) > 200:
        errors.append(FieldError("label", "use at most 200 characters"))
    help_text = (help_text or "").strip()
    if len(help_text) > MAX_TEXT:
        errors.append(FieldError("help", f"use at most {MAX_TEXT} characters"))
    if errors:
        raise ValidationFailed(errors)
    existing = gate_definitions(program.id, phase)
    if any(d.label.strip().lower() == label.lower() for d in existing):
        raise ValidationFailed.one("label", f"the {phase} gate already has '{label}'")
    keys = {d.key for d in existing}  # the defaults' and every criterion the program added
    base = key = _slug(label)
    n = 2
    while key in keys or key in rules.AUTO_KEYS:
        key = f"{base}_{n}"
        n += 1
    template = CriterionTemplate(
        program_id=program.id,
        phase=phase,
        key=key,
        label=label,
        help=help_text,
        kind=CriterionKind.MANUAL.value,
        required=bool(required),
        created_by_id=actor.id,
        created_at=clock.now(),
    )
    db.session.add(template)
    db.session.flush()
    record_event(
        actor,
        "criterion_template.added",
        "criterion_template",
        template.id,
        after={"phase": phase, "key": key, "label": label, "required": bool(required)},
        program_id=program.id,
    )
    db.session.commit()
    return template


def remove_template_criterion(actor, program: Program, template_id: int) -> None:
    """Remove a program's criterion; projects already in that gate keep it."""
    authorize(Action.PROGRAM_MANAGE, user=actor)
    template = program_template(program.id, template_id)
    before = {
        "phase": template.phase,
        "key": template.key,
        "label": template.label,
        "required": template.required,
    }
    db.session.delete(template)
    record_event(
        actor,
        "criterion_template.removed",
        "criterion_template",
        template_id,
        before=before,
        program_id=program.id,
    )
    db.session.commit()
