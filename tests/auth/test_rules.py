"""The policy's pure rules (SPEC §1): who may do what, without an app."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from crmphase.auth.roles import Role
from crmphase.auth.rules import (
    ROLES_FOR,
    Action,
    can,
    explain_refusal,
    gate_decider_refusal,
    roles_for,
)


@dataclass
class Person:
    id: int
    role: str
    is_authenticated: bool = True


@dataclass
class Project:
    manager_id: int
    state: str = "active"

    @property
    def is_closed(self) -> bool:
        return self.state in ("killed", "retired")


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("reopen", [False, True])
def test_nobody_decides_a_gate_of_a_project_they_manage(role, reopen):
    refusal = gate_decider_refusal(role, reopen=reopen, manages_project=True)
    assert refusal == "you manage this project; another person must decide it"


@pytest.mark.parametrize(
    ("role", "reopen", "refusal"),
    [
        (Role.CRMO, False, None),
        (Role.STEERING, False, None),
        (Role.MANAGER, False, "only steering or the CRMO can decide a gate"),
        (Role.VIEWER, False, "only steering or the CRMO can decide a gate"),
        (Role.CRMO, True, None),
        (Role.STEERING, True, "only the CRMO can reopen a project"),
        (Role.MANAGER, True, "only the CRMO can reopen a project"),
        ("", False, "only steering or the CRMO can decide a gate"),
    ],
)
def test_who_decides_a_gate_they_do_not_manage(role, reopen, refusal):
    assert gate_decider_refusal(role, reopen=reopen, manages_project=False) == refusal


@pytest.mark.parametrize("action", [Action.GATE_DECIDE, Action.GATE_REOPEN])
@pytest.mark.parametrize("role", list(Role))
def test_the_policy_answers_gate_decisions_as_the_gate_rules_ask_it(action, role):
    person, theirs, others = Person(7, role), Project(manager_id=7), Project(manager_id=8)
    if role not in ROLES_FOR[action]:
        assert explain_refusal(person, action, others) == f"your role ({role}) may not {action}"
        return
    assert not can(person, action, theirs)
    assert explain_refusal(person, action, theirs) == gate_decider_refusal(
        role, reopen=action == Action.GATE_REOPEN, manages_project=True
    )
    assert can(person, action, others)


def test_a_closed_project_changes_only_by_the_crmo():
    closed = Project(manager_id=7, state="killed")
    assert not can(Person(7, Role.MANAGER), Action.PROJECT_EDIT, closed)
    assert can(Person(1, Role.CRMO), Action.PROJECT_EDIT, closed)


def test_anonymous_may_do_nothing():
    assert not can(Person(0, Role.CRMO, is_authenticated=False), Action.READ)
    assert not can(None, Action.READ)


def test_roles_for_lists_roles_in_their_order():
    assert roles_for(Action.GATE_DECIDE) == [Role.CRMO, Role.STEERING]
    assert roles_for(Action.PROJECT_EDIT) == [Role.CRMO, Role.MANAGER]
    assert roles_for(Action.PROJECT_LIST_OWN) == [Role.MANAGER]
