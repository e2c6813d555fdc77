"""Gates in the database: criteria, reviews and decisions (SPEC §3).

The rules live in :mod:`crmphase.phases.rules`; this module loads the facts they read,
saves what they decide, writes the audit trail and commits. Each public function that
changes something is one transaction and writes exactly one audit event when it changes
anything (``enter_gate`` is the exception: its caller commits and logs).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from crmphase import clock
from crmphase.audit.models import Event
from crmphase.audit.services import record_event
from crmphase.auth.policy import Action, authorize
from crmphase.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from crmphase.extensions import db
from crmphase.phases import rules
from crmphase.phases.models import CriterionTemplate, GateCriterion, GateDecision, GateReview
from crmphase.phases.rules import (
    CriterionDefinition,
    CriterionKind,
    DecisionKind,
    GateStatus,
    Phase,
    ProjectState,
)
from crmphase.programs.models import Program, Project

MAX_TEXT = 5000
CLOSED = (ProjectState.KILLED.value, ProjectState.RETIRED.value)


# --- criteria of a gate ---------------------------------------------------------------------


def template_definitions(program_id: int, phase: Phase | str) -> list[CriterionDefinition]:
    """The criteria a program's CRMO added to the gate leaving ``phase``, oldest first."""
    query = (
        sa.select(CriterionTemplate)
        .where(CriterionTemplate.program_id == program_id, CriterionTemplate.phase == str(phase))
        .order_by(CriterionTemplate.id)
    )
    return [
        CriterionDefinition(
            t.key, t.label, CriterionKind(t.kind), required=t.required, help=t.help or ""
        )
        for t in db.session.scalars(query)
    ]


def gate_definitions(program_id: int, phase: Phase | str) -> list[CriterionDefinition]:
    """Defaults first, then the program's additions (a key never appears twice)."""
    seen: dict[str, CriterionDefinition] = {}
    for definition in (
        *rules.DEFAULT_CRITERIA[Phase(phase)],
        *template_definitions(program_id, phase),
    ):
        seen.setdefault(definition.key, definition)
    return list(seen.values())


def _criterion_rows(project_id: int, phase: Phase | str) -> list[GateCriterion]:
    query = (
        sa.select(GateCriterion)
        .where(GateCriterion.project_id == project_id, GateCriterion.phase == str(phase))
        .options(selectinload(GateCriterion.checked_by))
        .order_by(GateCriterion.position, GateCriterion.id)
    )
    return list(db.session.scalars(query))


def enter_gate(project: Project) -> list[GateCriterion]:
    """Give ``project`` the criteria of the gate leaving its current phase. No commit.

    The criteria are copied from the defaults and the program's template when the project
    enters the phase, so a later template change does not move the goalposts of a gate the
    project is already in. Entering again (after a recycle) keeps the rows already there and
    adds criteria the template gained since.
    """
    if project.id is None:
        db.session.flush()
    existing = {row.key: row for row in _criterion_rows(project.id, project.phase)}
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


# --- facts for the auto criteria ------------------------------------------------------------


def missing_measurement_counts(project_ids: list[int]) -> dict[int, int]:
    """How many due KPI-periods of each project are missing (SPEC §4): due, unmeasured,
    and past the program's grace days. A fixed number of queries for any number."""
    from crmphase.metrics.loaders import load_tracking
    from crmphase.periods import Period

    today = clock.today()
    tracking = load_tracking(project_ids, through=Period.of(today))
    return {pid: len(t.missing(today=today)) for pid, t in tracking.items()}


def missing_measurement_count(project: Project) -> int:
    return missing_measurement_counts([project.id]).get(project.id, 0)


def projects_facts(projects: list[Project]) -> dict[int, rules.ProjectFacts]:
    """What the auto criteria read about each project, in a fixed number of queries."""
    from crmphase.metrics.models import BenefitEntry, CostEntry, Kpi, Measurement
    from crmphase.programs.models import project_team_members

    ids = [p.id for p in projects]
    if not ids:
        return {}
    kpis: dict[int, list] = {pid: [] for pid in ids}
    for kpi in db.session.scalars(
        sa.select(Kpi).where(Kpi.project_id.in_(ids)).order_by(Kpi.project_id, Kpi.id)
    ):
        kpis[kpi.project_id].append(kpi)
    kpi_ids = [k.id for rows in kpis.values() for k in rows]
    counts: dict[int, int] = {}
    if kpi_ids:
        counts = dict(
            db.session.execute(
                sa.select(Measurement.kpi_id, sa.func.count())
                .where(Measurement.kpi_id.in_(kpi_ids))
                .group_by(Measurement.kpi_id)
            ).all()
        )

    def planned(model) -> dict[int, Decimal]:
        rows = db.session.execute(
            sa.select(model.project_id, sa.func.sum(model.amount))
            .where(model.project_id.in_(ids), model.kind == "plan")
            .group_by(model.project_id)
        ).all()
        return {pid: Decimal(str(total or 0)) for pid, total in rows}

    costs, benefits = planned(CostEntry), planned(BenefitEntry)
    teams = dict(
        db.session.execute(
            sa.select(project_team_members.c.project_id, sa.func.count())
            .where(project_team_members.c.project_id.in_(ids))
            .group_by(project_team_members.c.project_id)
        ).all()
    )
    programs = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Program).where(Program.id.in_({p.program_id for p in projects}))
        )
    }
    missing = missing_measurement_counts(ids)
    zero = Decimal(0)
    return {
        project.id: rules.ProjectFacts(
            objective=project.objective,
            business_lead=project.business_lead,
            it_lead=project.it_lead,
            kpis=tuple(
                rules.KpiFacts(
                    name=k.name,
                    has_baseline=k.baseline_value is not None and bool(k.baseline_period),
                    has_target=k.target_value is not None,
                    has_target_period=bool(k.target_period),
                    measurement_count=counts.get(k.id, 0),
                )
                for k in kpis[project.id]
            ),
            budget=project.budget,
            planned_start=project.planned_start,
            planned_end=project.planned_end,
            team_member_count=teams.get(project.id, 0),
            planned_cost_total=costs.get(project.id, zero),
            planned_benefit_total=benefits.get(project.id, zero),
            missing_measurement_count=missing.get(project.id, 0),
            bite_size_max_months=programs[project.program_id].bite_size_max_months,
            bite_size_max_budget=programs[project.program_id].bite_size_max_budget,
        )
        for project in projects
    }


def project_facts(project: Project) -> rules.ProjectFacts:
    """What the auto criteria read about ``project``."""
    return projects_facts([project])[project.id]


@dataclass(frozen=True)
class Gate:
    """The gate a project stands at: the pure status plus the rows behind it."""

    project: Project
    status: GateStatus
    rows: dict[str, GateCriterion]

    @property
    def unmet(self) -> list[dict]:
        return [
            {"key": c.key, "label": c.label, "explanation": c.explanation}
            for c in self.status.blocking
        ]


def current_gates(projects: list[Project]) -> dict[int, Gate]:
    """The live checklist of each project's current gate, in a fixed number of queries."""
    if not projects:
        return {}
    db.session.flush()  # rows added in this transaction count
    pairs = {(p.id, p.phase) for p in projects}
    rows: dict[int, list[GateCriterion]] = {p.id: [] for p in projects}
    query = (
        sa.select(GateCriterion)
        .where(GateCriterion.project_id.in_([p.id for p in projects]))
        .options(selectinload(GateCriterion.checked_by))
        .order_by(GateCriterion.project_id, GateCriterion.position, GateCriterion.id)
    )
    for row in db.session.scalars(query):
        if (row.project_id, row.phase) in pairs:
            rows[row.project_id].append(row)
    facts = projects_facts(projects)
    gates = {}
    for project in projects:
        mine = rows[project.id]
        if mine:
            definitions = [
                CriterionDefinition(
                    r.key, r.label, CriterionKind(r.kind), required=r.required, help=r.help or ""
                )
                for r in mine
            ]
        else:  # a project from before the gates existed: show what entering would give it
            definitions = gate_definitions(project.program_id, project.phase)
        manual = {r.key: (r.met, r.evidence or "") for r in mine if r.kind == CriterionKind.MANUAL}
        status = rules.gate_status(Phase(project.phase), definitions, facts[project.id], manual)
        gates[project.id] = Gate(project, status, {r.key: r for r in mine})
    return gates


def current_gate(project: Project) -> Gate:
    """The live checklist of the gate leaving the project's current phase."""
    return current_gates([project])[project.id]


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
    if project.state in CLOSED:
        raise Conflict(
            f"the project is {project.state}; {what} until the CRMO reopens it",
            state=project.state,
        )


# --- review requests -------------------------------------------------------------------------


def pending_review(project_id: int) -> GateReview | None:
    return db.session.scalar(
        sa.select(GateReview)
        .where(GateReview.project_id == project_id, GateReview.status == "pending")
        .order_by(GateReview.requested_at)
        .limit(1)
    )


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


def reviews_query(project_id: int):
    return (
        sa.select(GateReview)
        .where(GateReview.project_id == project_id)
        .options(selectinload(GateReview.requested_by))
        .order_by(GateReview.requested_at.desc(), GateReview.id.desc())
    )


def steering_queue_query():
    """Pending reviews, oldest first: what the steering committee must decide."""
    return (
        sa.select(GateReview)
        .join(Project, Project.id == GateReview.project_id)
        .where(GateReview.status == "pending")
        .options(
            selectinload(GateReview.requested_by),
            selectinload(GateReview.project).selectinload(Project.program),
            selectinload(GateReview.project).selectinload(Project.manager),
        )
        .order_by(GateReview.requested_at, GateReview.id)
    )


@functools.cache
def pending_count_statement():
    """Pending reviews that ``:user_id`` may decide (built once: the navigation counts
    them on every page)."""
    reviews, projects = GateReview.__table__, Project.__table__
    return (
        sa.select(sa.func.count())
        .select_from(reviews.join(projects, projects.c.id == reviews.c.project_id))
        .where(reviews.c.status == "pending", projects.c.manager_id != sa.bindparam("user_id"))
    )


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
    rows = _criterion_rows(project.id, phase)
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
    if expected_version is not None and int(expected_version) != project.version:
        current = project.version
        db.session.rollback()
        raise Conflict(
            f"the project changed since you looked at it (version {expected_version}, now "
            f"{current}); reload the gate and decide again",
            your_version=int(expected_version),
            current_version=current,
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

    try:
        return _apply(actor, project, DecisionKind(decision), rationale, to_phase, outcome)
    except StaleDataError:
        db.session.rollback()
        raise Conflict(
            "another decision on this gate was taken at the same moment; reload the gate"
        ) from None


def _apply(actor, project, decision, rationale, to_phase, outcome) -> GateDecision:
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
    db.session.commit()
    return row


def decisions_query(project_id: int):
    """The project's decisions in the order they were taken."""
    return (
        sa.select(GateDecision)
        .where(GateDecision.project_id == project_id)
        .options(selectinload(GateDecision.decided_by))
        .order_by(GateDecision.id)
    )


def allowed_decisions(project: Project) -> list[str]:
    """The decisions the rules allow in the project's state and phase (not who may take them)."""
    kinds = rules.ALLOWED_DECISIONS[ProjectState(project.state)]
    allowed = [k for k in DecisionKind if k in kinds]
    if project.phase != Phase.MANAGE:
        allowed = [k for k in allowed if k != DecisionKind.RETIRE]
    if not rules.earlier_phases(Phase(project.phase)):
        allowed = [k for k in allowed if k != DecisionKind.RECYCLE]
    return [k.value for k in allowed]


# --- periodic review -------------------------------------------------------------------------


def review_basis(project: Project) -> date | None:
    """The day the periodic-review clock runs from: the last review, else entering manage."""
    return project.last_review_on or project.phase_entered_on


def next_review_due(project: Project) -> date | None:
    if project.phase != Phase.MANAGE or review_basis(project) is None:
        return None
    return rules.next_review_due(review_basis(project))


def is_review_overdue(project: Project) -> bool:
    return rules.review_overdue(
        Phase(project.phase), ProjectState(project.state), review_basis(project), clock.today()
    )


def project_flags(project: Project) -> list[dict]:
    """Badges a project carries wherever it is listed."""
    flags = []
    if is_review_overdue(project):
        flags.append({"label": "review overdue", "kind": "overdue"})
    return flags


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
    keys = {d.key for d in existing} | set(
        db.session.scalars(
            sa.select(CriterionTemplate.key).where(
                CriterionTemplate.program_id == program.id, CriterionTemplate.phase == phase
            )
        )
    )
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
    template = db.session.get(CriterionTemplate, template_id)
    if template is None or template.program_id != program.id:
        raise NotFound(f"program {program.id} has no added criterion {template_id}")
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


def templates_query(program_id: int):
    return (
        sa.select(CriterionTemplate)
        .where(CriterionTemplate.program_id == program_id)
        .order_by(CriterionTemplate.phase, CriterionTemplate.id)
    )


# --- the audit trail -------------------------------------------------------------------------


def events_query(project_id: int):
    """The project's audit trail in the order it happened."""
    return (
        sa.select(Event)
        .where(Event.project_id == project_id)
        .options(selectinload(Event.actor))
        .order_by(Event.id)
    )
