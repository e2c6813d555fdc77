"""Every read of users and tokens: the signed-in user, the user of a bearer token, a user by
email, tokens. Reads only; :mod:`crmphase.auth.services` does every write."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crmphase.auth.models import ApiToken, User
from crmphase.auth.passwords import TOKEN_PREFIX, token_digest
from crmphase.errors import NotFound
from crmphase.extensions import db


def normalise_email(email: str) -> str:
    """An email as it is stored: no spaces around, lower case."""
    return (email or "").strip().lower()


def user_by_email(email: str) -> User | None:
    """The user with this email (any case, spaces around ignored), or None."""
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


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
    user: User | None = db.session.scalar(
        _USER_OF_UNREVOKED_TOKEN, {"token_hash": token_digest(plain)}
    )
    if user is None or not user.active:
        return None
    return user


def get_token(token_id: int) -> ApiToken:
    """The token; 404 when there is none."""
    token: ApiToken | None = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}")
    return token


def token_query(*, user_id: int | None = None) -> sa.Select[ApiToken]:
    """Tokens, newest first, with their owners; only ``user_id``'s when given."""
    query = (
        sa.select(ApiToken)
        .options(selectinload(ApiToken.user))
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
    )
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return query


def users_query() -> sa.Select[User]:
    """Every user, by email."""
    return sa.select(User).order_by(User.email)
