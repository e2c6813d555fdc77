"""What every factory module shares: saving rows, unique numbers, handing a factory out."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

import pytest

from crmphase.extensions import db

Row = TypeVar("Row")

_numbers = itertools.count(1)


def next_number() -> int:
    """A number no other factory call of this test session has had (for unique names)."""
    return next(_numbers)


def save(row: Row) -> Row:
    """Add ``row`` to the current session and commit it."""
    db.session.add(row)
    db.session.commit()
    return row


def money(value) -> Decimal:
    """``value`` (a str, int, float or Decimal) as a Decimal of cents."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def fixture_of(factory: Callable) -> Callable:
    """A fixture named like ``factory`` that hands it to a test once its ``db`` is set up
    (rolled back after the test; committed in the browser tests)."""

    def handed_out(db):
        return factory

    handed_out.__doc__ = factory.__doc__
    return pytest.fixture(name=factory.__name__)(handed_out)
