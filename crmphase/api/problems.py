"""RFC 9457 problem details for every API error."""

from __future__ import annotations

import marshmallow as ma
from flask import jsonify
from werkzeug.http import HTTP_STATUS_CODES

from crmphase.errors import DomainError, ValidationFailed

PROBLEM_CONTENT_TYPE = "application/problem+json"


class FieldErrorSchema(ma.Schema):
    field = ma.fields.String(metadata={"description": "the field, e.g. 'name' or 'rows.3.value'"})
    message = ma.fields.String()


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, with ``errors`` for validation and extra members (e.g. a
    409's ``your_version``, ``current_version`` and ``current``)."""

    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema))


def problem(
    status: int, detail: str = "", *, title: str | None = None, errors=None, headers=None, **extra
):
    body = {
        "type": "about:blank",
        "title": title or HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail or HTTP_STATUS_CODES.get(status, "Error"),
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_CONTENT_TYPE
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def unauthorized():
    return problem(
        401,
        "send a valid token as 'Authorization: Bearer <token>'",
        headers={"WWW-Authenticate": 'Bearer realm="crmphase"'},
    )


def from_domain_error(exc: DomainError):
    if isinstance(exc, ValidationFailed):
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
        return problem(exc.status, exc.detail, title=exc.title, errors=errors, **exc.extra)
    return problem(exc.status, exc.detail, title=exc.title, **exc.extra)


def flatten_messages(messages, prefix: str = "") -> list[dict]:
    """webargs/marshmallow messages (nested dicts of lists) as ``[{field, message}]``."""
    flat: list[dict] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "query", "form", "files", "headers", "view_args") and not prefix:
                flat.extend(flatten_messages(value, ""))
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
                flat.extend(flatten_messages(value, name))
    elif isinstance(messages, list | tuple):
        for item in messages:
            if isinstance(item, dict | list):
                flat.extend(flatten_messages(item, prefix))
            else:
                flat.append({"field": prefix or "_body", "message": str(item)})
    else:
        flat.append({"field": prefix or "_body", "message": str(messages)})
    return flat
