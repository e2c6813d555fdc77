"""Optimistic locking: the one way every versioned update checks and commits its version.

Programs, projects and KPIs carry a ``version`` column (SQLAlchemy's ``version_id_col``).
An update names the version it edited; a stale one is a 409 that changes nothing, and a
concurrent update that slips in between check and commit fails at the commit the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from crmphase.errors import Conflict, ValidationFailed
from crmphase.extensions import db

SavedValues = Callable[[Any], dict]


def check_version(
    obj: Any, expected_version: object, what: str, saved_values: SavedValues | None = None
) -> int:
    """The edited version as a number; 422 when it is missing or not a whole number, 409
    (with the saved values when ``saved_values`` is given) when someone saved since."""
    if expected_version is None or expected_version == "":
        raise ValidationFailed.one("version", f"send the {what}'s version you edited")
    try:
        expected = int(expected_version)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValidationFailed.one("version", "the version is a whole number") from None
    if expected != obj.version:
        current_version = obj.version
        current = saved_values(obj) if saved_values else None
        db.session.rollback()
        raise Conflict(
            f"this {what} was changed by someone else (you edited version {expected}, it is "
            f"now at version {current_version}); your changes were not saved. Compare them "
            "with the saved values and apply them again",
            your_version=expected,
            current_version=current_version,
            **({"current": current} if current is not None else {}),
        )
    return expected


def commit_versioned(
    obj: Any,
    what: str,
    expected_version: int | None = None,
    saved_values: SavedValues | None = None,
) -> None:
    """Commit; the version column makes a concurrent update fail (409) instead of
    overwriting.

    The object is not expired by the commit: the answer then shows this save (its values
    and its version), not a reload that may already hold someone else's later save.
    """
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    except StaleDataError:
        db.session.rollback()
        db.session.refresh(obj)
        current = saved_values(obj) if saved_values else None
        raise Conflict(
            f"this {what} was changed by someone else at the same time; your changes were "
            "not saved. Compare them with the saved values and apply them again",
            your_version=expected_version,
            current_version=obj.version,
            **({"current": current} if current is not None else {}),
        ) from None
    finally:
        session.expire_on_commit = expire_on_commit
