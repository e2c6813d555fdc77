"""Who may do what (SPEC §1), as plain code: the one place where authorization is decided.

Pure: takes a user (anything with ``is_authenticated``, ``role`` and ``id``) and the object
acted on (a project, or anything with ``.project``), returns an answer. No Flask, no
database, so the gate rules (:mod:`crmphase.phases.rules`) ask it who may decide a gate.
:mod:`crmphase.auth.policy` applies it to requests.
"""

from __future__ import annotations

import enum
from typing import Any

from crmphase.auth.roles import Role


class Action(enum.StrEnum):
    READ = "read"
    PROGRAM_MANAGE = "program.manage"
    USER_MANAGE = "user.manage"
    PROJECT_CREATE = "project.create"
    PROJECT_EDIT = "project.edit"
    PROJECT_LIST_OWN = "project.list_own"
    GATE_CRITERION = "gate.criterion"
    GATE_REVIEW_REQUEST = "gate.review.request"
    GATE_DECIDE = "gate.decide"
    GATE_REOPEN = "gate.reopen"
    KPI_EDIT = "kpi.edit"
    MEASUREMENT_RECORD = "measurement.record"
    MONEY_EDIT = "money.edit"
    MEASUREMENT_IMPORT = "measurement.import"
    JOB_RUN = "job.run"
    JOB_READ = "job.read"
    EXPORT_READ = "export.read"
    EXPORT_BUILD = "export.build"
    TOKEN_OWN = "token.own"
    TOKEN_MANAGE_ANY = "token.manage_any"
    WEBHOOK_MANAGE = "webhook.manage"


ALL = frozenset(Role)
CHANGERS = frozenset({Role.CRMO, Role.MANAGER})

# Which roles may attempt an action at all; object rules below narrow it further.
ROLES_FOR: dict[Action, frozenset[Role]] = {
    Action.READ: ALL,
    Action.PROGRAM_MANAGE: frozenset({Role.CRMO}),
    Action.USER_MANAGE: frozenset({Role.CRMO}),
    Action.PROJECT_CREATE: CHANGERS,
    Action.PROJECT_EDIT: CHANGERS,
    # Pages that lead with "your own projects" (the navigation's My projects, the
    # dashboard's own work list) do so for the people whose job is running projects.
    Action.PROJECT_LIST_OWN: frozenset({Role.MANAGER}),
    Action.GATE_CRITERION: CHANGERS,
    Action.GATE_REVIEW_REQUEST: CHANGERS,
    Action.GATE_DECIDE: frozenset({Role.CRMO, Role.STEERING}),
    Action.GATE_REOPEN: frozenset({Role.CRMO}),
    Action.KPI_EDIT: CHANGERS,
    Action.MEASUREMENT_RECORD: ALL - {Role.VIEWER},
    Action.MONEY_EDIT: CHANGERS,
    Action.MEASUREMENT_IMPORT: CHANGERS,
    Action.JOB_RUN: frozenset({Role.CRMO}),
    Action.JOB_READ: frozenset({Role.CRMO}),
    Action.EXPORT_READ: frozenset({Role.CRMO, Role.STEERING, Role.VIEWER}),
    Action.EXPORT_BUILD: frozenset({Role.CRMO, Role.STEERING}),
    Action.TOKEN_OWN: ALL,
    Action.TOKEN_MANAGE_ANY: frozenset({Role.CRMO}),
    Action.WEBHOOK_MANAGE: frozenset({Role.CRMO}),
}

# Endpoints registered by libraries rather than by our views, open to anonymous visitors:
# the static files and the OpenAPI document (it holds no data). Every other endpoint
# declares its policy on the view; the authorization-matrix test enforces both.
PUBLIC_ENDPOINTS = frozenset({"static", "api-docs.openapi_json"})

PROJECT_CHANGES = frozenset(
    {
        Action.PROJECT_EDIT,
        Action.GATE_CRITERION,
        Action.GATE_REVIEW_REQUEST,
        Action.KPI_EDIT,
        Action.MONEY_EDIT,
        Action.MEASUREMENT_RECORD,
    }
)
GATE_DECISIONS = frozenset({Action.GATE_DECIDE, Action.GATE_REOPEN})


def roles_for(action: Action) -> list[Role]:
    """The roles that may attempt ``action``, in the order of :class:`Role`."""
    return [role for role in Role if role in ROLES_FOR[action]]


def role_allows(user: Any, action: Action) -> bool:
    """Whether ``user`` is signed in with a role that may attempt ``action`` at all."""
    return (
        bool(user) and getattr(user, "is_authenticated", False) and (user.role in ROLES_FOR[action])
    )


def gate_decider_refusal(role: str, *, reopen: bool, manages_project: bool) -> str | None:
    """Why someone with ``role`` may not decide (or, with ``reopen``, reopen) a project's
    gate, or None when they may. Nobody decides a gate of a project they manage."""
    if manages_project:
        return "you manage this project; another person must decide it"
    if role not in ROLES_FOR[Action.GATE_REOPEN if reopen else Action.GATE_DECIDE]:
        if reopen:
            return "only the CRMO can reopen a project"
        return "only steering or the CRMO can decide a gate"
    return None


# The position that answers for the whole program: the CRMOs receive the alert reminders
# of a program without a CRMO of its own, and the monthly review.
OFFICER_ROLES = frozenset({Role.CRMO})

# A KPI's owner records its measurements, so only someone who may record can own one.
KPI_OWNER_ROLES = ROLES_FOR[Action.MEASUREMENT_RECORD]


def may_own_kpi(user: Any) -> bool:
    """Whether ``user`` can be named a KPI's owner: active, with a role that records
    measurements (a viewer cannot)."""
    return bool(user.active) and user.role in KPI_OWNER_ROLES


def _project_of(obj: Any) -> Any:
    """The project an object belongs to (a project, a KPI with ``.project``, ...)."""
    if obj is None:
        return None
    if hasattr(obj, "manager_id"):
        return obj
    return getattr(obj, "project", None)


def explain_refusal(user: Any, action: Action, obj: Any = None) -> str | None:
    """Why ``user`` may not do ``action`` to ``obj``, or None when allowed."""
    if not role_allows(user, action):
        return f"your role ({getattr(user, 'role', 'anonymous')}) may not {action.value}"
    project = _project_of(obj)
    if action in PROJECT_CHANGES and project is not None:
        if project.is_closed and user.role != Role.CRMO:
            return f"the project is {project.state}; only the CRMO can change it"
        if user.role == Role.CRMO:
            return None
        if action == Action.MEASUREMENT_RECORD and getattr(obj, "owner_id", None) == user.id:
            return None
        if project.manager_id != user.id:
            return "only the project's manager or the CRMO can change this project"
    others_token = (
        action == Action.TOKEN_OWN
        and hasattr(obj, "token_hash")
        and obj.user_id != user.id
        and user.role not in ROLES_FOR[Action.TOKEN_MANAGE_ANY]
    )
    if others_token:
        return "only the token's owner or the CRMO can change this token"
    if action in GATE_DECISIONS and project is not None:
        return gate_decider_refusal(
            user.role,
            reopen=action == Action.GATE_REOPEN,
            manages_project=project.manager_id == user.id,
        )
    return None


def can(user: Any, action: Action, obj: Any = None) -> bool:
    """Whether ``user`` may do ``action`` (to ``obj`` when the answer depends on it)."""
    return explain_refusal(user, action, obj) is None
