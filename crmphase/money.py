"""Exact money and measured values (SPEC §2: money is Decimal, never float).

Pure: no Flask, no database.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
MAX_MONEY = Decimal("999999999999.99")  # Numeric(14, 2)


class AmountError(ValueError):
    """A text or number that is not an acceptable amount."""


def parse_decimal(value: object, *, max_places: int | None = None) -> Decimal:
    """Turn a decimal string or number into a finite ``Decimal``.

    Floats are read through their shortest repr so that 0.1 stays 0.1. Booleans, NaN,
    Infinity and non-numeric text are refused with a readable reason.
    """
    if isinstance(value, bool) or value is None:
        raise AmountError("a number is required")
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise AmountError("a number is required")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise AmountError(f"'{value}' is not a number") from None
    else:
        raise AmountError("a number is required")
    if not number.is_finite():
        raise AmountError("NaN and Infinity are not numbers we can store")
    exponent = number.as_tuple().exponent  # an int for every finite number
    if max_places is not None and isinstance(exponent, int) and exponent < -max_places:
        raise AmountError(f"at most {max_places} decimal places are allowed")
    return number


def parse_money(value: object, *, allow_negative: bool = False) -> Decimal:
    """Parse an amount of money: at most 2 decimal places, not negative unless allowed."""
    amount = parse_decimal(value, max_places=2)
    if amount < 0 and not allow_negative:
        raise AmountError("an amount cannot be negative")
    if abs(amount) > MAX_MONEY:
        raise AmountError(f"an amount must be at most {MAX_MONEY}")
    return amount.quantize(CENT)


def round_half_up(value: Decimal, places: int = 2) -> Decimal:
    """Round the way accountants do (half away from zero)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def summed_money(value: Decimal | float | int | None) -> Decimal:
    """A sum of money columns as the driver returns it, in cents: ``Decimal`` from
    PostgreSQL, ``float`` or ``int`` from SQLite (which keeps NUMERIC as REAL), ``None``
    for the sum of no rows (0.00). A float is rounded to the cent from its exact binary
    value, half to even, as ``Decimal(value).quantize(CENT)`` would, only faster."""
    if value is None:
        return Decimal("0.00")
    if isinstance(value, float):
        return Decimal(f"{value:.2f}")
    return Decimal(value).quantize(CENT)


def to_decimal(value: object) -> Decimal | None:
    """A JSON number or decimal string as ``Decimal``; ``None`` for anything else."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None
