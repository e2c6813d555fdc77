"""Factories of the auth domain: users and API tokens."""

from __future__ import annotations

from functools import cache

from crmphase.auth.passwords import hash_password
from crmphase.auth.services import issue_token
from crmphase.models import User

from .base import fixture_of, next_number, save

PASSWORD = "correct horse battery staple"


@cache
def password_hash(password: str = PASSWORD) -> str:
    """The hash of ``password``, computed once (a hash costs about a tenth of a second)."""
    return hash_password(password)


def make_user(
    role: str = "manager",
    email: str | None = None,
    name: str | None = None,
    *,
    password: str | None = PASSWORD,
    **fields,
) -> User:
    """``make_user("steering", name="Sven")``: an active user who signs in with ``password``
    (None: no password, as for single sign-on).

    A direct row: ``auth.services.create_user`` hashes every password anew and records an
    event, which tests that only need somebody to act would pay for in time and events.
    """
    n = next_number()
    return save(
        User(
            email=email or f"{role}{n}@example.com",
            name=name or f"{role.title()} {n}",
            role=role,
            password_hash=password_hash(password) if password else None,
            **fields,
        )
    )


def make_token(user: User, name: str = "test") -> str:
    """``make_token(user)``: a bearer token of ``user``, returned in plain (shown once).

    Through ``auth.services.issue_token``: the stored digest and prefix are the real ones.
    """
    return issue_token(user, name)


make_user_fixture = fixture_of(make_user)
make_token_fixture = fixture_of(make_token)
