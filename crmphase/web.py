"""What every page and response shares: error pages, security headers, template helpers."""

from __future__ import annotations

import logging
from decimal import Decimal

import sqlalchemy.exc
from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from crmphase import navigation
from crmphase.api.problems import flatten_messages, from_domain_error, problem, unauthorized
from crmphase.auth.policy import may
from crmphase.errors import DomainError
from crmphase.extensions import db

log = logging.getLogger(__name__)

# Scripts: same origin only, no inline code and no eval. Styles allow inline because
# plotly.js injects its own style rules at run time; templates themselves use none.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _is_api() -> bool:
    return request.path.startswith("/api/")


def handle_http_exception(error: HTTPException):
    if _is_api():
        data = getattr(error, "data", None) or {}
        if error.code == 422 and "messages" in data:
            return problem(
                422,
                "the request does not match the schema",
                errors=flatten_messages(data["messages"]),
            )
        if error.code == 401:
            return unauthorized()
        detail = error.description if isinstance(error.description, str) else ""
        # keep the headers the error carries (Allow on a 405, Retry-After on a 429)
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return problem(error.code or 500, detail, headers=headers)
    return render_template(
        "error.html", status=error.code, title=error.name, detail=error.description
    ), error.code


def render_domain_error(exc: DomainError):
    if _is_api():
        return from_domain_error(exc)
    return render_template(
        "error.html", status=exc.status, title=exc.title, detail=exc.detail
    ), exc.status


def _database_unavailable(exc):
    db.session.rollback()
    log.warning("database unavailable: %s", exc)
    if _is_api():
        return problem(
            503, "the database is unavailable; try again shortly", headers={"Retry-After": "5"}
        )
    return render_template(
        "error.html",
        status=503,
        title="Service unavailable",
        detail="The database is unavailable; try again shortly.",
    ), 503


DB_INT_MAX = 2**31 - 1  # ids are INTEGER columns (32 bits on PostgreSQL)


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` in every route: an id beyond what the database stores is a 404, not a
    query that overflows."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


def _value_out_of_range(exc):
    """A value the database cannot hold (a huge number, a too-long text on PostgreSQL, a
    lone surrogate) reached a query: the client's input, so a 422 and never a 500."""
    db.session.rollback()
    log.info("value out of range: %s", exc)
    detail = "a value in the request is out of range (too large a number or too long a text)"
    if isinstance(exc, UnicodeError):
        detail = "a text in the request is not valid Unicode"
    if _is_api():
        return problem(422, detail, errors=[{"field": "_body", "message": detail}])
    return render_template(
        "error.html", status=422, title="Unprocessable request", detail=detail.capitalize()
    ), 422


def _internal_error(error: InternalServerError):
    original = getattr(error, "original_exception", None)
    if isinstance(original, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        return _database_unavailable(original)
    if isinstance(original, OverflowError | UnicodeError | sqlalchemy.exc.DataError):
        return _value_out_of_range(original)
    if _is_api():
        return problem(500, "an unexpected error occurred; it has been logged")
    return render_template(
        "error.html",
        status=500,
        title="Something went wrong",
        detail="An unexpected error occurred; it has been logged.",
    ), 500


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static" and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


def money(value) -> str:
    """1234567.5 → '1,234,567.50'; None → '—'."""
    if value is None:
        return "—"
    return f"{Decimal(value):,.2f}"


def number(value, places: int = 2) -> str:
    if value is None:
        return "—"
    value = Decimal(value)
    text = f"{value:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("CRMPHASE_TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Behind a TLS-terminating proxy: the client's address (for login rate limits) and
        # https (for HSTS and secure cookies) come from the proxy's headers, and only then.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, _internal_error)
    app.register_error_handler(sqlalchemy.exc.OperationalError, _database_unavailable)
    app.register_error_handler(sqlalchemy.exc.InterfaceError, _database_unavailable)
    app.register_error_handler(sqlalchemy.exc.DataError, _value_out_of_range)
    app.register_error_handler(OverflowError, _value_out_of_range)
    app.register_error_handler(UnicodeError, _value_out_of_range)
    app.url_map.converters["int"] = DatabaseIdConverter
    app.after_request(_security_headers)
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["number"] = number
    app.jinja_env.globals["currency"] = app.config["CRMPHASE_CURRENCY"]
    app.jinja_env.globals["may"] = may
    navigation.init_app(app)
