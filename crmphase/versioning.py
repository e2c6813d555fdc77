"""Optimistic locking: the one way every versioned update checks and commits its version.

Programs, projects and KPIs carry a ``version`` column (SQLAlchemy's ``version_id_col``).
An update names the version it edited; a stale one is a 409 that changes nothing, and a
concurrent update that slips in between check and commit fails at the commit the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from crmphase.errors import Conflict, ValidationFailed
from crmphase.extensions import db

SavedValues = Callable[[Any], dict[str, Any]]

EDIT_ADVICE = "your changes were not saved. Compare them with the saved values and apply them again"


def check_version(
    obj: Any,
    expected_version: object,
    what: str,
    saved_values: SavedValues | None = None,
    *,
    required: bool = True,
    advice: str = EDIT_ADVICE,
) -> int | None:
    """The edited version as a number; 422 when it is missing (unless not ``required``:
    then None) or not a whole number, 409 (with the saved values when ``saved_values`` is
    given, and ``advice`` on what to do) when someone saved since."""
    if expected_version is None or expected_version == "":
        if not required:
            return None
        raise ValidationFailed.one("version", f"send the {what}'s version you edited")
    try:
        expected: int = int(expected_version)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValidationFailed.one("version", "the version is a whole number") from None
    if expected != obj.version:
        current_version = obj.version
        current = saved_values(obj) if saved_values else None
        db.session.rollback()
        raise Conflict(
            f"this {what} was changed by someone else (you edited version {expected}, it is "
            f"now at version {current_version}); {advice}",
            your_version=expected,
            current_version=current_version,
            **({"current": current} if current is not None else {}),
        )
    return expected


@contextmanager
def versioned_commit(
    obj: Any,
    what: str,
    expected_version: int | None = None,
    saved_values: SavedValues | None = None,
    *,
    conflict_detail: str | None = None,
) -> Iterator[None]:
    """Make the changes of the block and commit them; the version column makes a concurrent
    update fail (409, ``conflict_detail`` if given) at any flush in the block or at the
    commit, instead of overwriting, and nothing is changed.

    The object is not expired by the commit: the answer then shows this save (its values
    and its version), not a reload that may already hold someone else's later save.
    """
    session = db.session()
    expire_on_commit = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
        session.commit()
    except StaleDataError:
        db.session.rollback()
        db.session.refresh(obj)
        current = saved_values(obj) if saved_values else None
        raise Conflict(
            conflict_detail
            or f"this {what} was changed by someone else at the same time; {EDIT_ADVICE}",
            your_version=expected_version,
            current_version=obj.version,
            **({"current": current} if current is not None else {}),
        ) from None
    finally:
        session.expire_on_commit = expire_on_commit


def commit_versioned(
    obj: Any,
    what: str,
    expected_version: int | None = None,
    saved_values: SavedValues | None = None,
) -> None:
    """Commit the changes already made to ``obj``, as :func:`versioned_commit` does."""
    with versioned_commit(obj, what, expected_version, saved_values):
        pass
