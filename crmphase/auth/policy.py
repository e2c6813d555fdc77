"""Who may do what (SPEC §1). The one place where authorization is decided.

Pages and API endpoints declare their action with :func:`permission_required` (or
:func:`public`); views then call :func:`authorize` with the object when the answer depends
on it. The authorization-matrix test walks every route and fails on one without a policy.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps

from flask import g, has_request_context, redirect, request, url_for
from flask_login import AnonymousUserMixin, current_user

from crmphase.auth.roles import Role
from crmphase.errors import Forbidden


class Action(enum.StrEnum):
    READ = "read"
    PROGRAM_MANAGE = "program.manage"
    USER_MANAGE = "user.manage"
    PROJECT_CREATE = "project.create"
    PROJECT_EDIT = "project.edit"
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


ALL = frozenset(Role)
CHANGERS = frozenset({Role.CRMO, Role.MANAGER})

# Which roles may attempt an action at all; object rules below narrow it further.
ROLES_FOR: dict[Action, frozenset[Role]] = {
    Action.READ: ALL,
    Action.PROGRAM_MANAGE: frozenset({Role.CRMO}),
    Action.USER_MANAGE: frozenset({Role.CRMO}),
    Action.PROJECT_CREATE: CHANGERS,
    Action.PROJECT_EDIT: CHANGERS,
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
}

# Endpoints registered by libraries rather than by our views, open to anonymous visitors:
# the static files and the OpenAPI document (it holds no data). Every other endpoint
# declares its policy on the view; the authorization-matrix test enforces both.
PUBLIC_ENDPOINTS = frozenset({"static", "api-docs.openapi_json"})

CLOSED_STATES = ("killed", "retired")
PROJECT_CHANGES = {
    Action.PROJECT_EDIT,
    Action.GATE_CRITERION,
    Action.GATE_REVIEW_REQUEST,
    Action.KPI_EDIT,
    Action.MONEY_EDIT,
    Action.MEASUREMENT_RECORD,
}


def _project_of(obj):
    """The project an object belongs to (a project, a KPI with ``.project``, ...)."""
    if obj is None:
        return None
    if hasattr(obj, "manager_id"):
        return obj
    return getattr(obj, "project", None)


def role_allows(user, action: Action) -> bool:
    return (
        bool(user) and getattr(user, "is_authenticated", False) and (user.role in ROLES_FOR[action])
    )


def explain_refusal(user, action: Action, obj=None) -> str | None:
    """Why ``user`` may not do ``action`` to ``obj``, or None when allowed."""
    if not role_allows(user, action):
        return f"your role ({getattr(user, 'role', 'anonymous')}) may not {action.value}"
    project = _project_of(obj)
    if action in PROJECT_CHANGES and project is not None:
        if project.state in CLOSED_STATES and user.role != Role.CRMO:
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
    deciding = action in (Action.GATE_DECIDE, Action.GATE_REOPEN)
    if deciding and project is not None and project.manager_id == user.id:
        return "nobody decides a gate of a project they manage"
    return None


def can(user, action: Action, obj=None) -> bool:
    return explain_refusal(user, action, obj) is None


def authorize(action: Action, obj=None, user=None) -> None:
    """Raise :class:`Forbidden` unless the current user may do ``action`` to ``obj``."""
    user = user if user is not None else current_actor()
    reason = explain_refusal(user, action, obj)
    if reason:
        raise Forbidden(reason)


def current_actor():
    """The API user of this request (bearer token) or the signed-in page user.

    The API never falls back to the session cookie: it is exempt from CSRF because only a
    bearer token authenticates there, so a cookie must not (a forged cross-site request
    would carry it)."""
    if has_request_context() and _is_api_request():
        return g.get("api_user") or AnonymousUserMixin()
    return current_user


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


def permission_required(action: Action, **by_method: Action) -> Callable:
    """Declare and enforce the role-level policy of a page or API endpoint.

    A function view that serves several methods can name a stricter action per method:
    ``@permission_required(Action.READ, POST=Action.PROGRAM_MANAGE)``.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            required = by_method.get(request.method, action)
            user = current_actor()
            if not getattr(user, "is_authenticated", False):
                if _is_api_request():
                    from crmphase.api.problems import unauthorized

                    return unauthorized()
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not role_allows(user, required):
                raise Forbidden(f"your role ({user.role}) may not {required.value}")
            return view(*args, **kwargs)

        wrapper.crmphase_policy = action
        wrapper.crmphase_method_policies = dict(by_method)
        return wrapper

    return decorator


def public(view):
    """Declare a route that anonymous visitors may use (login, static, health)."""
    view.crmphase_policy = "public"
    return view
