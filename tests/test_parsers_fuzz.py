"""Item 3 of the trust issue: property tests of the period and money parsers. No Flask."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crmphase.money import MAX_MONEY, AmountError, parse_decimal, parse_money, round_half_up
from crmphase.periods import Period, PeriodError, period_range

periods = st.builds(Period, st.integers(1900, 9999), st.integers(1, 12))


# --- periods -------------------------------------------------------------------------


@given(periods)
def test_a_period_round_trips_through_its_text(period):
    text = str(period)
    assert len(text) == 7 and text[4] == "-"
    assert Period.parse(text) == period
    assert Period.parse(f"  {text}\n") == period


@given(st.text(max_size=20))
@example("2026-13")
@example("2026-00")
@example("0999-01")
@example("2026-3")
@example("2026-03-01")
@example("٢٠٢٦-٠٣")  # Arabic-Indic digits
@example("２０２６-０３")  # full-width digits
def test_any_text_parses_to_a_valid_period_or_a_clear_period_error(text):
    try:
        period = Period.parse(text)
    except PeriodError as exc:
        assert str(exc)  # a readable reason, never another exception
    else:
        assert str(period) == text.strip()  # only ASCII YYYY-MM is ever accepted
        assert 1 <= period.month <= 12 and 1900 <= period.year <= 9999


@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary(), st.lists(st.integers())))
def test_a_period_from_a_non_text_is_refused(value):
    with pytest.raises(PeriodError):
        Period.parse(value)


@given(periods, st.integers(-2000, 2000))
def test_shifting_and_counting_months_agree(period, months):
    try:
        shifted = period.shift(months)
    except PeriodError:
        return  # outside 1900..9999
    assert shifted.months_since(period) == months
    assert shifted.shift(-months) == period
    assert (shifted > period) == (months > 0)


@given(periods, periods)
def test_a_period_range_is_every_month_in_order(first, last):
    if last.months_since(first) > 240:
        last = first.shift(240) if first.year < 9900 else last
    months = period_range(first, last)
    assert len(months) == max(0, last.months_since(first) + 1)
    assert all(b.months_since(a) == 1 for a, b in itertools.pairwise(months))


@given(periods)
def test_a_period_spans_its_month(period):
    assert period.first_day.day == 1
    assert Period.of(period.last_day) == period
    assert Period.of(period.first_day) == period


# --- money ---------------------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=MAX_MONEY, places=2, allow_nan=False)


@given(amounts)
def test_money_round_trips_through_its_text(amount):
    assert parse_money(f"{amount:.2f}") == amount
    assert parse_money(amount) == amount
    assert parse_money(f"{amount:.2f}").as_tuple().exponent == -2


@given(
    st.one_of(
        st.text(max_size=30),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
        st.lists(st.integers(), max_size=2),
    )
)
@example("NaN")
@example("-Infinity")
@example("1e999999")
@example("1E-999999")
@example("0.001")
@example("1_000")
@example("-0.00")
@example(True)
def test_any_input_is_money_or_a_clear_amount_error(value):
    try:
        amount = parse_money(value)
    except AmountError as exc:
        assert str(exc)
    else:
        assert isinstance(amount, Decimal)
        assert amount.is_finite()
        assert 0 <= amount <= MAX_MONEY
        assert amount.as_tuple().exponent == -2
        assert not isinstance(value, bool)


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False).map(lambda f: round(f, 2)))
def test_a_float_amount_keeps_its_shortest_decimal_meaning(number):
    assert parse_money(number) == Decimal(repr(number)).quantize(Decimal("0.01"))


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=3, min_value=-MAX_MONEY, max_value=MAX_MONEY
    )
)
def test_a_third_decimal_place_is_refused_unless_it_is_zero(amount):
    text = f"{amount:.3f}"
    if text.endswith("0"):
        return
    with pytest.raises(AmountError):
        parse_money(text, allow_negative=True)


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12))
def test_parse_decimal_never_returns_a_non_finite_number(number):
    assert parse_decimal(str(number)) == number


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False))
def test_rounding_is_half_away_from_zero(value):
    rounded = round_half_up(value, 2)
    assert abs(rounded - value) <= Decimal("0.005")
    if abs(value * 1000) % 10 == 5 and value.as_tuple().exponent >= -3:
        assert abs(rounded) > abs(value)  # a half goes away from zero
