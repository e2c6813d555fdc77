"""Who may do what (SPEC §1), applied to requests.

The answers come from :mod:`crmphase.auth.rules` (pure, no Flask); this module asks them
for the current request. Pages and API endpoints declare their action with
:func:`permission_required` (or :func:`public`); views then call :func:`authorize` with the
object when the answer depends on it. The authorization-matrix test walks every route and
fails on one without a policy. The rules' names are importable from here too, so a view
needs one import for its policy.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, has_request_context, redirect, request, url_for
from flask_login import AnonymousUserMixin, current_user

from crmphase.api import is_api_request
from crmphase.api.problems import unauthorized
from crmphase.auth.rules import (
    PUBLIC_ENDPOINTS,
    ROLES_FOR,
    Action,
    can,
    explain_refusal,
    role_allows,
    roles_for,
)
from crmphase.errors import Forbidden

__all__ = [
    "PUBLIC_ENDPOINTS",
    "ROLES_FOR",
    "Action",
    "authorize",
    "can",
    "current_actor",
    "explain_refusal",
    "may",
    "permission_required",
    "public",
    "role_allows",
    "roles_for",
]


def authorize(action: Action, obj=None, user=None) -> None:
    """Raise :class:`Forbidden` unless the current user may do ``action`` to ``obj``."""
    user = user if user is not None else current_actor()
    reason = explain_refusal(user, action, obj)
    if reason:
        raise Forbidden(reason)


def may(action: str, obj=None) -> bool:
    """Whether the current user may do ``action`` (its name, as templates write it:
    ``may("job.run")``) to ``obj``."""
    return can(current_actor(), Action(action), obj)


def current_actor():
    """The API user of this request (bearer token) or the signed-in page user.

    The API never falls back to the session cookie: it is exempt from CSRF because only a
    bearer token authenticates there, so a cookie must not (a forged cross-site request
    would carry it)."""
    if has_request_context() and is_api_request():
        return g.get("api_user") or AnonymousUserMixin()
    return current_user


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
                if is_api_request():
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
