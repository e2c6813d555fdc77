"""Every read of programs and projects: one program or project, its team, and the queries
the pages and the API list. Reads only; :mod:`crmphase.programs.services` does every write.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from crmphase.auth.models import User
from crmphase.errors import NotFound
from crmphase.extensions import db
from crmphase.programs.models import Program, Project, project_team_members


def get_program(program_id: int) -> Program:
    """The program; 404 when there is none."""
    program: Program | None = db.session.get(Program, program_id)
    if program is None:
        raise NotFound(f"no program {program_id}")
    return program


# The program and the manager are in every project's header: same query, joined. Both
# statements are built once: every project page and API call loads a project this way, and
# a prebuilt select costs the ORM less than ``Session.get`` building one per call.
_PROJECT_BY_ID = sa.select(Project).where(Project.id == sa.bindparam("project_id"))
_PROJECT_WITH_HEADER = _PROJECT_BY_ID.options(
    joinedload(Project.program), joinedload(Project.manager)
)


def get_project(project_id: int, *, header: bool = True) -> Project:
    """The project, with its program and manager joined in unless ``header`` is false
    (the API's JSON holds their ids only, so it reads the project row alone)."""
    statement = _PROJECT_WITH_HEADER if header else _PROJECT_BY_ID
    project: Project | None = db.session.scalar(statement, {"project_id": project_id})
    if project is None:
        raise NotFound(f"no project {project_id}")
    return project


_TEAM_NAMES = (
    sa.select(User.__table__.c.name)
    .join(project_team_members, User.__table__.c.id == project_team_members.c.user_id)
    .where(project_team_members.c.project_id == sa.bindparam("project_id"))
    .order_by(User.__table__.c.name)
)


_TEAM_IDS = (
    sa.select(project_team_members.c.user_id)
    .where(project_team_members.c.project_id == sa.bindparam("project_id"))
    .order_by(project_team_members.c.user_id)
)


def team_member_ids(project_id: int) -> list[int]:
    """The ids of the project's team, ascending (without loading each member)."""
    # On the session's connection: a Core statement needs none of the ORM's execution steps.
    return list(db.session.connection().scalars(_TEAM_IDS, {"project_id": project_id}))


def team_names(project_id: int) -> list[str]:
    """The names of the project's team, by name (what the project page shows; the names
    alone, without loading each member)."""
    return list(db.session.connection().scalars(_TEAM_NAMES, {"project_id": project_id}))


def project_query(
    *,
    program_id: int | None = None,
    department: str | None = None,
    phase: str | None = None,
    state: str | None = None,
    manager_id: int | None = None,
    search: str | None = None,
) -> sa.Select[Project]:
    """Projects filtered as the list page and the API filter them, by name."""
    query = (
        sa.select(Project)
        .options(
            selectinload(Project.program),
            selectinload(Project.manager),
            selectinload(Project.team_members),
        )
        .order_by(Project.name, Project.id)
    )
    if program_id:
        query = query.where(Project.program_id == program_id)
    if department:
        query = query.where(Project.department == department)
    if phase:
        query = query.where(Project.phase == phase)
    if state:
        query = query.where(Project.state == state)
    if manager_id:
        query = query.where(Project.manager_id == manager_id)
    if search:
        query = query.where(Project.name.ilike(f"%{search.strip()}%"))
    return query


def program_query() -> sa.Select[Program]:
    """Programs by name, with their CRMO and steering members."""
    return (
        sa.select(Program)
        .options(selectinload(Program.crmo), selectinload(Program.steering_members))
        .order_by(Program.name)
    )


def project_counts(program_ids: Iterable[int]) -> dict[int, int]:
    """How many projects each of the programs has, in one query."""
    ids = list(program_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Project.program_id, sa.func.count(Project.id))
        .where(Project.program_id.in_(ids))
        .group_by(Project.program_id)
    )
    return {row[0]: row[1] for row in rows}
