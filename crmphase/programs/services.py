"""Creating and changing programs and projects. Each call is one transaction.

The field rules are in :mod:`crmphase.programs.rules`; this module adds what only the
database knows (a name taken, a user missing). Who may hold a position is the policy's
answer (:mod:`crmphase.auth.rules`): a program's CRMO is someone who may manage programs,
its steering members people who may decide gates, a project's manager someone who may
edit projects."""

from __future__ import annotations

import sqlalchemy as sa

from crmphase import clock
from crmphase.audit.services import changed_fields, plain_values, record_event
from crmphase.auth.models import User
from crmphase.auth.rules import Action, roles_for
from crmphase.errors import FieldErrors
from crmphase.extensions import db
from crmphase.integrations.services import check_chat_setting
from crmphase.phases.services import enter_gate
from crmphase.programs import rules
from crmphase.programs.models import Program, Project
from crmphase.versioning import check_version, commit_versioned

PROGRAM_FIELDS = (
    "name",
    "objective",
    "executive_sponsor",
    "crmo_id",
    "discount_rate",
    "bite_size_max_months",
    "bite_size_max_budget",
    "measurement_grace_days",
    "chat_url",
    "chat_flavour",
)
PROJECT_FIELDS = (
    "program_id",
    "name",
    "objective",
    "customer_need",
    "department",
    "business_lead",
    "it_lead",
    "manager_id",
    "budget",
    "planned_start",
    "planned_end",
)


def program_values(program: Program) -> dict:
    values = {name: getattr(program, name) for name in PROGRAM_FIELDS}
    values["steering_member_ids"] = sorted(u.id for u in program.steering_members)
    return values


def project_values(project: Project) -> dict:
    values = {name: getattr(project, name) for name in PROJECT_FIELDS}
    values["team_member_ids"] = sorted(u.id for u in project.team_members)
    return values


def _users(ids, errors: FieldErrors, field: str, roles=None) -> list[User]:
    ids = sorted(set(ids or []))
    if not ids:
        return []
    users = list(db.session.scalars(sa.select(User).where(User.id.in_(ids))))
    missing = set(ids) - {u.id for u in users}
    if missing:
        errors.add(field, f"no user with id {', '.join(map(str, sorted(missing)))}")
    if roles:
        wrong = [u.email for u in users if u.role not in roles]
        if wrong:
            errors.add(field, f"{', '.join(wrong)} must have role {' or '.join(roles)}")
    return users


def _check_program(data: dict, errors: FieldErrors, program: Program | None) -> None:
    name = data["name"] = rules.clean_name(data.get("name"))
    if rules.check_name(name, "program", errors):
        query = sa.select(Program.id).where(sa.func.lower(Program.name) == name.lower())
        if program is not None:
            query = query.where(Program.id != program.id)
        if db.session.scalar(query):
            errors.add("name", f"a program named '{name}' already exists")
    rules.check_program_limits(data, errors)
    check_chat_setting(data, errors)
    if data.get("crmo_id") is not None:
        _users([data["crmo_id"]], errors, "crmo_id", roles=roles_for(Action.PROGRAM_MANAGE))


def create_program(actor, data: dict) -> Program:
    """Create a program. ``data`` holds PROGRAM_FIELDS and ``steering_member_ids``."""
    errors = FieldErrors()
    _check_program(data, errors, None)
    members = _users(
        data.get("steering_member_ids"),
        errors,
        "steering_member_ids",
        roles=roles_for(Action.GATE_DECIDE),
    )
    errors.raise_if_any()
    program = Program(**{k: data[k] for k in PROGRAM_FIELDS if data.get(k) is not None})
    program.steering_members = members
    db.session.add(program)
    db.session.flush()
    record_event(
        actor,
        "program.created",
        "program",
        program.id,
        after=program_values(program),
        program_id=program.id,
    )
    db.session.commit()
    return program


def update_program(actor, program: Program, data: dict, expected_version: int) -> Program:
    """Change a program's fields; a stale ``expected_version`` changes nothing (409)."""
    check_version(program, expected_version, "program", saved_values)
    before = program_values(program)
    merged = {
        **before,
        **{k: v for k, v in data.items() if k in (*PROGRAM_FIELDS, "steering_member_ids")},
    }
    errors = FieldErrors()
    _check_program(merged, errors, program)
    members = _users(
        merged.get("steering_member_ids"),
        errors,
        "steering_member_ids",
        roles=roles_for(Action.GATE_DECIDE),
    )
    errors.raise_if_any()
    for key in PROGRAM_FIELDS:
        if key in data:
            setattr(program, key, merged[key])
    if "steering_member_ids" in data:
        program.steering_members = members
    old, new = changed_fields(before, program_values(program))
    if old or new:
        record_event(
            actor,
            "program.updated",
            "program",
            program.id,
            before=old,
            after=new,
            program_id=program.id,
        )
    commit_versioned(program, "program", expected_version, saved_values)
    return program


def _check_project(data: dict, errors: FieldErrors, project: Project | None) -> None:
    name = data["name"] = rules.clean_name(data.get("name"))
    program = db.session.get(Program, data["program_id"]) if data.get("program_id") else None
    if program is None:
        errors.add("program_id", "choose an existing program")
    if rules.check_name(name, "project", errors) and program is not None:
        query = sa.select(Project.id).where(
            Project.program_id == program.id, sa.func.lower(Project.name) == name.lower()
        )
        if project is not None:
            query = query.where(Project.id != project.id)
        if db.session.scalar(query):
            errors.add("name", f"'{name}' already exists in program '{program.name}'")
    rules.check_department(data.get("department"), errors)
    if data.get("manager_id") is None:
        errors.add("manager_id", "every project needs a manager")
    else:
        _users([data["manager_id"]], errors, "manager_id", roles=roles_for(Action.PROJECT_EDIT))
    rules.check_project_plan(data, errors)


def create_project(actor, data: dict) -> Project:
    """Create a project in strategize, active. ``data``: PROJECT_FIELDS, ``team_member_ids``."""
    errors = FieldErrors()
    _check_project(data, errors, None)
    team = _users(data.get("team_member_ids"), errors, "team_member_ids")
    errors.raise_if_any()
    project = Project(**{k: data[k] for k in PROJECT_FIELDS if data.get(k) is not None})
    project.team_members = team
    project.phase_entered_on = clock.today()
    db.session.add(project)
    db.session.flush()
    enter_gate(project)  # the criteria of its first gate
    record_event(
        actor,
        "project.created",
        "project",
        project.id,
        after=project_values(project),
        project_id=project.id,
        program_id=project.program_id,
    )
    db.session.commit()
    return project


def update_project(actor, project: Project, data: dict, expected_version: int) -> Project:
    """Change a project's data; phase and state change only through gate decisions."""
    check_version(project, expected_version, "project", saved_values)
    before = project_values(project)
    merged = {
        **before,
        **{k: v for k, v in data.items() if k in (*PROJECT_FIELDS, "team_member_ids")},
    }
    errors = FieldErrors()
    _check_project(merged, errors, project)
    team = _users(merged.get("team_member_ids"), errors, "team_member_ids")
    errors.raise_if_any()
    for key in PROJECT_FIELDS:
        if key in data:
            setattr(project, key, merged[key])
    if "team_member_ids" in data:
        project.team_members = team
    old, new = changed_fields(before, project_values(project))
    if old or new:
        project.updated_at = clock.now()
        record_event(
            actor,
            "project.updated",
            "project",
            project.id,
            before=old,
            after=new,
            project_id=project.id,
            program_id=project.program_id,
        )
    commit_versioned(project, "project", expected_version, saved_values)
    return project


def saved_values(obj) -> dict:
    """The saved values of a program or project, JSON-ready (for a 409's ``current``)."""
    values = program_values(obj) if isinstance(obj, Program) else project_values(obj)
    return plain_values(values)
