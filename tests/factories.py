"""Factory fixtures: each returns a callable that builds and saves one object."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from functools import cache

import pytest

_seq = itertools.count(1)
PASSWORD = "correct horse battery staple"


@cache
def password_hash() -> str:
    from crmphase.auth.passwords import hash_password

    return hash_password(PASSWORD)


@pytest.fixture
def make_user(db):
    from crmphase.auth.models import User

    def make(role: str = "manager", email: str | None = None, name: str | None = None, **kw):
        n = next(_seq)
        user = User(
            email=email or f"{role}{n}@example.com",
            name=name or f"{role.title()} {n}",
            role=role,
            password_hash=password_hash(),
            **kw,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_program(db, make_user):
    from crmphase.programs.models import Program

    def make(name: str | None = None, **kw):
        kw.setdefault("crmo", make_user("crmo"))
        program = Program(name=name or f"Program {next(_seq)}", objective="Know the customer", **kw)
        db.session.add(program)
        db.session.commit()
        return program

    return make


@pytest.fixture
def make_project(db, make_user, make_program):
    """``make_project(phase="execute", state="active", manager=..., **fields)``.

    Phases are set directly (no gate decisions); the criteria of the phase's gate are
    created as a real project would get them.
    """
    from crmphase.programs.models import Project

    def make(name: str | None = None, *, program=None, manager=None, **kw):
        kw.setdefault("department", "marketing")
        kw.setdefault("objective", "Cut the cost of a campaign")
        kw.setdefault("business_lead", "Bea Business")
        kw.setdefault("it_lead", "Ian IT")
        kw.setdefault("budget", Decimal("100000.00"))
        kw.setdefault("planned_start", date(2026, 1, 1))
        kw.setdefault("planned_end", date(2026, 6, 30))
        project = Project(
            name=name or f"Project {next(_seq)}",
            program=program or make_program(),
            manager=manager or make_user("manager"),
            **kw,
        )
        db.session.add(project)
        db.session.flush()
        from crmphase.phases.services import enter_gate

        enter_gate(project)
        db.session.commit()
        return project

    return make
