"""Creating users, signing in, issuing and revoking API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets

import sqlalchemy as sa

from crmphase import clock
from crmphase.audit.services import record_event
from crmphase.auth.models import ApiToken, User
from crmphase.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from crmphase.auth.roles import Role
from crmphase.errors import FieldErrors, NotFound, ValidationFailed
from crmphase.extensions import db

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOKEN_PREFIX = "crm_"


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


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


def user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


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
    from flask import current_app
    from limits.storage import storage_from_string

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
    from flask import current_app

    email = normalise_email(email)[:254]
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    key = f"{prefix}crmphase/login-failures/{_digest(email)}"
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


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, name: str = "cli", actor=None) -> str:
    """Create a bearer token for ``user``; return the plain token (shown once)."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name[:80], token_hash=_digest(plain), prefix=plain[:10])
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
    return plain


# Every page loads its signed-in user: built once (cheaper than ``Session.get``).
_USER_BY_ID = sa.select(User).where(User.id == sa.bindparam("user_id"))


def signed_in_user(user_id: int) -> User | None:
    """The user a session cookie names, or None if there is no such user."""
    return db.session.scalar(_USER_BY_ID, {"user_id": user_id})


# Every API request runs this: built once, with the token's hash as a bound parameter.
# The user alone is the entity loaded (joining the token row in as a second entity costs
# every API request about a fifth of its authentication).
_USER_OF_UNREVOKED_TOKEN = (
    sa.select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == sa.bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)


def user_for_token(plain: str) -> User | None:
    """The active user owning this unrevoked token, or None."""
    if not plain or not plain.startswith(TOKEN_PREFIX):
        return None
    user = db.session.scalar(_USER_OF_UNREVOKED_TOKEN, {"token_hash": _digest(plain)})
    if user is None or not user.active:
        return None
    return user


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
    plain = issue_token(actor, name, actor=actor)
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _digest(plain)))
    return token, plain


def get_token(token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}")
    return token


def token_query(*, user_id: int | None = None):
    """Tokens, newest first, with their owners; only ``user_id``'s when given."""
    from sqlalchemy.orm import selectinload

    query = (
        sa.select(ApiToken)
        .options(selectinload(ApiToken.user))
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
    )
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return query


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
