"""summed_money: a driver's sum of money columns as cents, the same as the exact rounding."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from crmphase.money import summed_money


@given(st.floats(min_value=-1e13, max_value=1e13, allow_nan=False))
def test_a_float_rounds_like_its_exact_binary_value(value):
    assert summed_money(value) == Decimal(value).quantize(Decimal("0.01"))
    assert summed_money(value).as_tuple().exponent == -2


def test_sums_from_either_driver():
    assert summed_money(None) == Decimal("0.00")
    assert str(summed_money(600.5999999999999)) == "600.60"
    assert str(summed_money(-449.85000000000002)) == "-449.85"
    assert str(summed_money(12)) == "12.00"
    assert str(summed_money(Decimal("-3.1"))) == "-3.10"
    assert str(summed_money(Decimal("99999999999999.99"))) == "99999999999999.99"
