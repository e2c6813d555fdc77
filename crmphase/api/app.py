"""Wires the ``/api/v1`` JSON API into the app: bearer-token auth, problem JSON errors, the
OpenAPI document, every domain's API blueprint."""

from __future__ import annotations

from apispec import BasePlugin
from flask import Flask, g, request
from flask_smorest import Api

from crmphase.api import is_api_request
from crmphase.api.problems import (
    PROBLEM_CONTENT_TYPE,
    ProblemSchema,
    flatten_messages,
    problem,
)
from crmphase.api.registry import register_api_blueprints
from crmphase.auth.loaders import user_for_token
from crmphase.errors import DomainError
from crmphase.web import handle_http_exception, render_domain_error


class ProblemResponsesPlugin(BasePlugin):
    """Documents the reusable responses as ``application/problem+json``, the content type
    they are sent as. The only reusable responses are the error responses flask-smorest
    registers (one per HTTP status, and the default error, all of ``ERROR_SCHEMA``); this
    goes through apispec's public plugin hook rather than flask-smorest's internals."""

    def response_helper(self, response: dict, **kwargs) -> dict | None:
        content = response.get("content", {})
        if "application/json" not in content:
            return None
        return {"content": {PROBLEM_CONTENT_TYPE: content["application/json"]}}


class CrmphaseApi(Api):
    """flask-smorest's Api with errors rendered (and documented) as RFC 9457 problem JSON."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        return handle_http_exception(error)


api = CrmphaseApi(spec_kwargs={"extra_plugins": [ProblemResponsesPlugin()]})


def authenticate_bearer() -> None:
    """Set ``g.api_user`` from ``Authorization: Bearer``; the session cookie is never used."""
    if not is_api_request():
        return
    g.api_user = None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        g.api_user = user_for_token(token.strip())


def validation_problem(error):
    messages = getattr(error, "data", {}).get("messages", {})
    return problem(422, "the request does not match the schema", errors=flatten_messages(messages))


def init_app(app: Flask) -> None:
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
            "info": {"description": "crmphase: CRM projects through gated phases, with ROI."},
        },
    )
    api.init_app(app)
    app.before_request(authenticate_bearer)

    register_api_blueprints(api)

    @app.errorhandler(DomainError)
    def _domain_error(exc):  # API errors as problem JSON; pages get an HTML page
        return render_domain_error(exc)
