"""Every read of the gates (SPEC §3): the facts the rules in :mod:`crmphase.phases.rules`
take, the live checklist of a gate, and the queries the pages and the API list.

Reads only; :mod:`crmphase.phases.services` does every write.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crmphase import clock
from crmphase.errors import NotFound
from crmphase.extensions import db
from crmphase.metrics.loaders import load_tracking
from crmphase.metrics.models import BenefitEntry, CostEntry, Kpi, Measurement
from crmphase.periods import Period
from crmphase.phases import rules
from crmphase.phases.models import CriterionTemplate, GateCriterion, GateDecision, GateReview
from crmphase.phases.rules import (
    CriterionDefinition,
    CriterionKind,
    GateStatus,
    Phase,
    ProjectState,
)
from crmphase.programs.models import Program, Project, project_team_members

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


def criterion_rows(project_id: int, phase: Phase | str) -> list[GateCriterion]:
    query = (
        sa.select(GateCriterion)
        .where(GateCriterion.project_id == project_id, GateCriterion.phase == str(phase))
        .options(selectinload(GateCriterion.checked_by))
        .order_by(GateCriterion.position, GateCriterion.id)
    )
    return list(db.session.scalars(query))


# --- facts for the auto criteria ------------------------------------------------------------


def missing_measurement_counts(project_ids: list[int]) -> dict[int, int]:
    """How many due KPI-periods of each project are missing (SPEC §4): due, unmeasured,
    and past the program's grace days. A fixed number of queries for any number."""
    today = clock.today()
    tracking = load_tracking(project_ids, through=Period.of(today))
    return {pid: len(t.missing(today=today)) for pid, t in tracking.items()}


def projects_facts(projects: list[Project]) -> dict[int, rules.ProjectFacts]:
    """What the auto criteria read about each project, in a fixed number of queries."""
    ids = [p.id for p in projects]
    if not ids:
        return {}
    kpis: dict[int, list[Kpi]] = {pid: [] for pid in ids}
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

    def planned(model: type[CostEntry] | type[BenefitEntry]) -> dict[int, Decimal]:
        rows = db.session.execute(
            sa.select(model.project_id, sa.func.sum(model.amount))
            .where(model.project_id.in_(ids), model.kind == "plan")
            .group_by(model.project_id)
        ).all()
        return {pid: Decimal(str(total or 0)) for pid, total in rows}

    costs, benefits = planned(CostEntry), planned(BenefitEntry)
    teams: dict[int, int] = dict(
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


@dataclass(frozen=True)
class Gate:
    """The gate a project stands at: the pure status plus the rows behind it."""

    project: Project
    status: GateStatus
    rows: dict[str, GateCriterion]

    @property
    def unmet(self) -> list[dict[str, str]]:
        """The blocking criteria as the API and the pages list them."""
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


# --- reviews and decisions -----------------------------------------------------------------


def pending_review(project_id: int) -> GateReview | None:
    return db.session.scalar(
        sa.select(GateReview)
        .where(GateReview.project_id == project_id, GateReview.status == "pending")
        .order_by(GateReview.requested_at)
        .limit(1)
    )


def reviews_query(project_id: int) -> sa.Select[GateReview]:
    """The project's review requests, newest first."""
    return (
        sa.select(GateReview)
        .where(GateReview.project_id == project_id)
        .options(selectinload(GateReview.requested_by))
        .order_by(GateReview.requested_at.desc(), GateReview.id.desc())
    )


def steering_queue_query() -> sa.Select[GateReview]:
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
def pending_count_statement() -> sa.Select[int]:
    """Pending reviews that ``:user_id`` may decide (built once: the navigation counts
    them on every page)."""
    reviews, projects = GateReview.__table__, Project.__table__
    return (
        sa.select(sa.func.count())
        .select_from(reviews.join(projects, projects.c.id == reviews.c.project_id))
        .where(reviews.c.status == "pending", projects.c.manager_id != sa.bindparam("user_id"))
    )


def decisions_query(project_id: int) -> sa.Select[GateDecision]:
    """The project's decisions in the order they were taken."""
    return (
        sa.select(GateDecision)
        .where(GateDecision.project_id == project_id)
        .options(selectinload(GateDecision.decided_by))
        .order_by(GateDecision.id)
    )


def allowed_decisions(project: Project) -> list[str]:
    """The decisions the rules allow in the project's state and phase (not who may take them)."""
    position = rules.Position(Phase(project.phase), ProjectState(project.state))
    return [kind.value for kind in rules.allowed_decisions(position)]


# --- periodic review -------------------------------------------------------------------------


def review_basis(project: Project) -> date | None:
    """The day the periodic-review clock runs from: the last review, else entering manage."""
    return project.last_review_on or project.phase_entered_on


def next_review_due(project: Project) -> date | None:
    """The day the project's next periodic review is due; None outside manage."""
    basis = review_basis(project)
    if project.phase != Phase.MANAGE or basis is None:
        return None
    return rules.next_review_due(basis)


def is_review_overdue(project: Project) -> bool:
    """Whether the project's periodic review is overdue today."""
    return rules.review_overdue(
        Phase(project.phase), ProjectState(project.state), review_basis(project), clock.today()
    )


def project_flags(project: Project) -> list[dict[str, str]]:
    """Badges a project carries wherever it is listed."""
    flags = []
    if is_review_overdue(project):
        flags.append({"label": "review overdue", "kind": "overdue"})
    return flags


# --- criteria templates ----------------------------------------------------------------------


def templates_query(program_id: int) -> sa.Select[CriterionTemplate]:
    """The criteria the program's CRMO added, by phase, oldest first."""
    return (
        sa.select(CriterionTemplate)
        .where(CriterionTemplate.program_id == program_id)
        .order_by(CriterionTemplate.phase, CriterionTemplate.id)
    )


def program_template(program_id: int, template_id: int) -> CriterionTemplate:
    """A criterion the program's CRMO added; 404 when the program has no such criterion."""
    template = db.session.get(CriterionTemplate, template_id)
    if template is None or template.program_id != program_id:
        raise NotFound(f"program {program_id} has no added criterion {template_id}")
    return template
