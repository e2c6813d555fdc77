"""Factories of the programs domain: programs and projects."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from crmphase.extensions import db
from crmphase.models import Program, Project, User
from crmphase.phases.services import enter_gate

from .auth import make_user
from .base import fixture_of, next_number, save


def make_program(name: str | None = None, *, crmo: User | None = None, **fields) -> Program:
    """``make_program("Service", discount_rate=Decimal("0.1"))``: a program whose CRMO is
    ``crmo`` (a new CRMO when not given).

    A direct row: ``programs.services.create_program`` checks the actor's rights and records
    an event, which a test that only needs a program to hang projects on does not want.
    """
    fields.setdefault("objective", "Know the customer")
    if "crmo_id" not in fields:
        fields["crmo"] = crmo or make_user("crmo")
    return save(Program(name=name or f"Program {next_number()}", **fields))


def make_project(
    name: str | None = None,
    *,
    program: Program | None = None,
    manager: User | None = None,
    **fields,
) -> Project:
    """``make_project(phase="execute", state="active", manager=..., **fields)``: a bite-size
    project (marketing, budget 100,000.00, January to June 2026) in a new program, managed
    by a new manager, unless told otherwise.

    The row is written directly, in its phase (no gate decisions: those are what the phases
    tests exercise); its gate criteria come from ``phases.services.enter_gate``, as a real
    project's do when it enters a phase.
    """
    fields.setdefault("department", "marketing")
    fields.setdefault("objective", "Cut the cost of a campaign")
    fields.setdefault("business_lead", "Bea Business")
    fields.setdefault("it_lead", "Ian IT")
    fields.setdefault("budget", Decimal("100000.00"))
    fields.setdefault("planned_start", date(2026, 1, 1))
    fields.setdefault("planned_end", date(2026, 6, 30))
    project = Project(
        name=name or f"Project {next_number()}",
        program=program or make_program(),
        manager=manager or make_user("manager"),
        **fields,
    )
    db.session.add(project)
    db.session.flush()
    enter_gate(project)
    db.session.commit()
    return project


make_program_fixture = fixture_of(make_program)
make_project_fixture = fixture_of(make_project)
