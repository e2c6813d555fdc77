"""Item 2 of the trust issue: every route of the URL map (pages and API), for anonymous and
for each role, gets the outcome its declared policy promises.

Generic over what exists at run time: routes added by other branches are walked too, and
a route without a declared policy fails ``test_every_route_declares_a_policy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import g

from crmphase import create_app
from crmphase.auth.policy import PUBLIC_ENDPOINTS, ROLES_FOR, Action
from crmphase.auth.roles import Role
from crmphase.integrations.models import CalendarFeed, Delivery, Webhook
from crmphase.integrations.rules import new_message_id, new_secret
from tests.factories.apps import build_path
from tests.factories.base import save

SKIPPED_METHODS = {"HEAD", "OPTIONS"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ROLE_REFUSAL = "your role ("  # the wording of a role-level refusal (policy.permission_required)


@dataclass(frozen=True)
class Route:
    rule: object
    method: str
    policies: tuple  # every policy that applies (class level, then method level); "public"

    @property
    def is_api(self) -> bool:
        return self.rule.rule.startswith("/api/")

    @property
    def is_public(self) -> bool:
        return "public" in self.policies

    def allows(self, role: str) -> bool:
        return all(role in ROLES_FOR[Action(p)] for p in self.policies if p != "public")

    def __str__(self) -> str:
        return f"{self.method} {self.rule.rule} ({self.rule.endpoint})"


def policies_of(app, rule, method: str) -> tuple:
    """The declared policies of a rule and method: on the view function (or a MethodView's
    ``decorators``) and on the MethodView's method, or the public endpoint list."""
    if rule.endpoint in PUBLIC_ENDPOINTS:
        return ("public",)
    view = app.view_functions[rule.endpoint]
    found = []
    per_method = getattr(view, "crmphase_method_policies", None) or {}
    if method in per_method:
        found.append(str(per_method[method]))
    elif getattr(view, "crmphase_policy", None) is not None:
        found.append(str(view.crmphase_policy))
    view_class = getattr(view, "view_class", None)
    method_function = getattr(view_class, method.lower(), None) if view_class else None
    if getattr(method_function, "crmphase_policy", None) is not None:
        found.append(str(method_function.crmphase_policy))
    return tuple(found)


def routes_of(app) -> list[Route]:
    routes = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - SKIPPED_METHODS):
            routes.append(Route(rule, method, policies_of(app, rule, method)))
    return routes


def undeclared_routes(app) -> list[str]:
    return [str(route) for route in routes_of(app) if not route.policies]


# --- (a) a declared policy everywhere ----------------------------------------------------


def test_every_route_declares_a_policy(app):
    missing = undeclared_routes(app)
    assert not missing, (
        "routes without a declared policy: decorate the view (or the MethodView method) with "
        "@permission_required(Action.X) or @public, or add a library endpoint to "
        f"policy.PUBLIC_ENDPOINTS: {missing}"
    )


def test_a_new_route_without_a_policy_is_caught():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    app.add_url_rule("/naked", "naked", lambda: "nobody declared who may see me")
    assert "GET /naked (naked)" in undeclared_routes(app)


def test_policies_name_real_actions(app):
    for route in routes_of(app):
        for policy in route.policies:
            assert policy == "public" or policy in {a.value for a in Action}, route


# --- (b) and (c): the outcome for anonymous and every role ------------------------------


@pytest.fixture
def world(db, make_user, make_program, make_project, make_kpi, make_token):
    """Real objects for URL parameters: a program, a project managed by someone else,
    a KPI, a token of another user; and one user per role."""
    users = {role.value: make_user(role.value) for role in Role}
    outsider = make_user("manager")
    program = make_program()
    project = make_project(program=program, manager=outsider)
    kpi = make_kpi(
        project,
        name="Cost per campaign",
        unit="",
        direction="down",
        baseline_value=100,
        target_value=80,
        target_period="2026-06",
        owner_id=outsider.id,
    )
    make_token(outsider, "someone else's")
    # Integrations (issue 20): an endpoint with one delivery, and someone's calendar feed.
    webhook = save(
        Webhook(url="https://93.184.216.34/hook", events="gate.decided", secret=new_secret())
    )
    delivery = save(
        Delivery(
            kind="webhook",
            webhook_id=webhook.id,
            message_id=new_message_id(),
            event_type="gate.decided",
            body="{}",
        )
    )
    feed = save(CalendarFeed(user_id=outsider.id, token="matrix-calendar-token"))
    known = {
        "program_id": program.id,
        "project_id": project.id,
        "kpi_id": kpi.id,
        "user_id": outsider.id,
        "period": "2026-01",
        "webhook_id": webhook.id,
        "delivery_id": delivery.id,
        "token": feed.token,
    }
    for table in db.metadata.sorted_tables:  # "<thing>_id" → the first row of table <things>
        first = None
        if "id" in table.c:
            first = db.session.execute(sa.select(table.c.id).order_by(table.c.id).limit(1))
            first = first.scalar()
        if first is not None:
            stem = table.name.removesuffix("es") if table.name.endswith("ses") else table.name
            stem = stem.removesuffix("s")
            known.setdefault(f"{stem}_id", first)
            known.setdefault(f"{stem.split('_')[-1]}_id", first)
    tokens = {role: make_token(user, "matrix") for role, user in users.items()}
    return users, tokens, known


def _request(app, route: Route, path: str, who, users, tokens):
    # The db fixture keeps an app context open, so requests share its ``g``: forget the
    # user Flask-Login cached there for the previous request.
    g.pop("_login_user", None)
    g.pop("api_user", None)
    client = app.test_client()
    kwargs = {}
    if route.method in UNSAFE:
        kwargs = {"json": {}} if route.is_api else {"data": {}}
    if who is not None:
        if route.is_api:
            kwargs["headers"] = {"Authorization": f"Bearer {tokens[who]}"}
        else:
            with client.session_transaction() as session:
                session["_user_id"] = str(users[who].id)
                session["_fresh"] = True
    response = client.open(path, method=route.method, **kwargs)
    response.get_data()  # read it, then release file-backed bodies (static, plotly.js)
    response.close()
    return response


def _is_login_redirect(response) -> bool:
    """Sent to sign in by the policy (which names the page to come back to); signing out
    also ends on /login, but without ``next``."""
    location = urlsplit(response.headers.get("Location", ""))
    return (
        response.status_code in (301, 302, 303)
        and location.path.endswith("/login")
        and "next=" in location.query
    )


def _refusal_text(response) -> str:
    if response.is_json:
        return str(response.json.get("detail", ""))
    return response.get_data(as_text=True)


def test_every_route_gives_each_role_and_anonymous_the_declared_outcome(app, world):
    users, tokens, known = world
    failures = []
    walked = 0
    for route in routes_of(app):
        if not route.policies:
            continue  # reported by test_every_route_declares_a_policy
        path = build_path(route.rule, known)
        for who in [None, *users]:
            walked += 1
            response = _request(app, route, path, who, users, tokens)
            status = response.status_code
            label = f"{route} as {who or 'anonymous'} → {status}"
            if status >= 500:
                failures.append(f"{label}: a server error")
            elif route.is_public:
                if status == 401 or _is_login_redirect(response):
                    failures.append(f"{label}: a public route asked for a login")
            elif who is None:
                if route.is_api and status != 401:
                    failures.append(f"{label}: expected 401")
                if not route.is_api and not _is_login_redirect(response):
                    failures.append(f"{label}: expected a redirect to /login")
            elif not route.allows(who):
                if status != 403:
                    failures.append(f"{label}: expected 403 for {route.policies}")
            elif status == 401 or _is_login_redirect(response):
                failures.append(f"{label}: an allowed role was sent to sign in")
            elif status == 403 and ROLE_REFUSAL in _refusal_text(response):
                failures.append(
                    f"{label}: refused by role although {route.policies} allows it; declare the "
                    "method's policy with @permission_required on the method"
                )
    assert walked > 0
    assert not failures, "\n".join(failures)


def test_the_matrix_walks_pages_and_api(app):
    routes = routes_of(app)
    assert any(r.is_api and r.method == "POST" for r in routes)
    assert any(not r.is_api and r.method == "GET" and not r.is_public for r in routes)
    assert any(r.is_public for r in routes)
