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
    email exists, so that the answer and its timing reveal nothing."""
    user = user_by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    if user and ok and user.active:
        return user
    return None


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


def user_for_token(plain: str) -> User | None:
    """The active user owning this unrevoked token, or None."""
    if not plain or not plain.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(
        sa.select(ApiToken).where(
            ApiToken.token_hash == _digest(plain), ApiToken.revoked_at.is_(None)
        )
    )
    if token is None or not token.user.active:
        return None
    return token.user


def revoke_token(token_id: int, actor) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        record_event(
            actor, "token.revoked", "api_token", token.id, after={"user_id": token.user_id}
        )
        db.session.commit()
    return token


def set_password(user: User, password: str, actor=None) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.one("password", f"use at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    record_event(actor or user, "user.password_changed", "user", user.id)
    db.session.commit()
