"""Every write of users and tokens: creating users, signing in (counting failures), issuing
and revoking API tokens, changing passwords. Reads are in :mod:`crmphase.auth.loaders`."""

from __future__ import annotations

import re
import secrets

import sqlalchemy as sa
from flask import current_app
from limits.storage import storage_from_string

from crmphase import clock
from crmphase.audit.services import record_event
from crmphase.auth.loaders import get_token, normalise_email, user_by_email
from crmphase.auth.models import ApiToken, User
from crmphase.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    TOKEN_PREFIX,
    hash_password,
    token_digest,
    verify_password,
)
from crmphase.auth.roles import Role
from crmphase.errors import FieldErrors, ValidationFailed
from crmphase.extensions import db

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def create_user(email: str, role: str, password: str | None, *, name: str = "", actor=None) -> User:
    """Create a user with a hashed password. Raises ValidationFailed on bad input."""
    errors = FieldErrors()
    email = normalise_email(email)
    if not EMAIL_RE.match(email):
        errors.add("email", "enter a valid email address")
    elif db.session.scalar(sa.select(User.id).where(User.email == email)):
        errors.add("email", "a user with this email already exists")
    if role not in {r.value for r in Role}:
        errors.add("role", f"role must be one of {', '.join(r.value for r in Role)}")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        errors.add("password", f"use at least {MIN_PASSWORD_LENGTH} characters")
    errors.raise_if_any()
    user = User(
        email=email,
        role=role,
        name=name.strip() or email.split("@")[0],
        password_hash=hash_password(password) if password else None,
    )
    db.session.add(user)
    db.session.flush()
    record_event(actor, "user.created", "user", user.id, after={"email": email, "role": role})
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Same cost whether or not the
    email exists, so that the answer and its timing reveal nothing. A failure is counted
    (see :func:`count_login_failure`) whether or not the email exists."""
    user = user_by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    if user and ok and user.active:
        return user
    count_login_failure(email, user)
    return None


LOGIN_FAILURE_BURST = 5
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60


def _failure_counter():
    """The counter store of login failures: the rate limiter's storage (memory, or Redis
    when ``CRMPHASE_RATELIMIT_STORAGE`` points there), so that every gunicorn worker
    counts the same failures."""
    store = current_app.extensions.get("crmphase_login_failures")
    if store is None:
        store = storage_from_string(
            current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://",
            **(current_app.config.get("RATELIMIT_STORAGE_OPTIONS") or {}),
        )
        current_app.extensions["crmphase_login_failures"] = store
    return store


def count_login_failure(email: str, user: User | None) -> int:
    """Count one failed sign-in for ``email``; the burst's fifth failure within 15 minutes
    writes one ``auth.login_failures`` event (for known and unknown emails alike)."""
    email = normalise_email(email)[:254]
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    key = f"{prefix}crmphase/login-failures/{token_digest(email)}"
    try:
        failures = _failure_counter().incr(key, LOGIN_FAILURE_WINDOW_SECONDS)
    except Exception:  # the counter store is down: signing in must still work
        current_app.logger.warning("login failure counter unavailable", exc_info=True)
        return 0
    if failures == LOGIN_FAILURE_BURST:
        record_event(
            None,
            "auth.login_failures",
            "user",
            user.id if user else None,
            after={
                "email": email,
                "known_user": user is not None,
                "failures": failures,
                "window_minutes": LOGIN_FAILURE_WINDOW_SECONDS // 60,
            },
        )
        db.session.commit()
    return failures


def issue_token(user: User, name: str = "cli", actor=None) -> str:
    """Create a bearer token for ``user``; return the plain token (shown once)."""
    return _issue_token(user, name, actor)[1]


def _issue_token(user: User, name: str, actor) -> tuple[ApiToken, str]:
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name[:80], token_hash=token_digest(plain), prefix=plain[:10]
    )
    db.session.add(token)
    db.session.flush()
    record_event(
        actor or user,
        "token.issued",
        "api_token",
        token.id,
        after={"user": user.email, "name": name},
    )
    db.session.commit()
    return token, plain


def create_own_token(actor: User, name: str) -> tuple[ApiToken, str]:
    """Issue a token to ``actor`` with a label; return the token row and the plain token,
    which is shown once and never stored."""
    name = (name or "").strip()
    errors = FieldErrors()
    if not name:
        errors.add("name", "give the token a name you will recognise, e.g. 'BI export'")
    elif len(name) > 80:
        errors.add("name", "use at most 80 characters")
    errors.raise_if_any()
    return _issue_token(actor, name, actor)


def revoke_token(token_id: int, actor) -> ApiToken:
    """Revoke a token (idempotent). The row stays, so the audit trail can name it."""
    token = get_token(token_id)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        record_event(
            actor,
            "token.revoked",
            "api_token",
            token.id,
            before={"revoked_at": None},
            after={"user_id": token.user_id, "name": token.name, "prefix": token.prefix},
        )
        db.session.commit()
    return token


def set_password(user: User, password: str, actor=None) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.one("password", f"use at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    record_event(actor or user, "user.password_changed", "user", user.id)
    db.session.commit()
