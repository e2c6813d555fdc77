"""SPEC §4 money figures: cumulative sums, ROI, payback, NPV, plan vs actual."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmphase.metrics.roi import (
    EntryKind,
    MoneyEntry,
    RoiFigures,
    cumulative,
    cumulative_benefit,
    cumulative_cost,
    net_benefit,
    npv,
    payback_period,
    roi_figures,
    roi_pair,
    roi_pct,
    variance,
)
from crmphase.periods import Period

PLAN, ACTUAL = EntryKind.PLAN, EntryKind.ACTUAL
R8 = Decimal("0.08")


def p(text: str) -> Period:
    return Period.parse(text)


def entry(period: str, amount: str, kind: EntryKind = ACTUAL) -> MoneyEntry:
    return MoneyEntry(p(period), kind, Decimal(amount))


def test_hundred_thousand_cost_and_one_fifty_benefit_is_fifty_percent():
    figures = roi_figures(
        [entry("2026-01", "100000.00")],
        [entry("2026-01", "150000.00")],
        p("2026-01"),
        kind=ACTUAL,
        discount_rate=R8,
    )
    assert figures.cumulative_cost == Decimal("100000.00")
    assert figures.cumulative_benefit == Decimal("150000.00")
    assert figures.net_benefit == Decimal("50000.00")
    assert figures.roi_pct == Decimal("50.00")
    assert figures.payback_period == p("2026-01")
    assert figures.npv == Decimal("50000.00")  # all in month 0: nothing is discounted


@pytest.mark.parametrize(
    ("net", "cost", "expected"),
    [
        ("1", "3", Decimal("33.33")),
        ("2", "3", Decimal("66.67")),
        ("1", "800", Decimal("0.13")),  # 0.125 exactly: half-up, not half-even (0.12)
        ("-1", "800", Decimal("-0.13")),  # half away from zero
        ("3", "800", Decimal("0.38")),  # 0.375
        ("-50", "100", Decimal("-50.00")),
        ("0", "100", Decimal("0.00")),
        ("5", "0", None),
        ("0", "0", None),
        ("-5", "0.00", None),
    ],
)
def test_roi_pct_rounds_half_up_and_is_none_without_cost(net, cost, expected):
    assert roi_pct(Decimal(net), Decimal(cost)) == expected


def test_no_entries_gives_zeros():
    figures = roi_figures([], [], p("2026-05"), kind=ACTUAL, discount_rate=R8)
    assert figures == RoiFigures(
        period=p("2026-05"),
        kind=ACTUAL,
        cumulative_cost=Decimal("0"),
        cumulative_benefit=Decimal("0"),
        net_benefit=Decimal("0"),
        roi_pct=None,
        npv=Decimal("0"),
        payback_period=None,
    )


def test_benefit_without_cost_has_no_roi_and_no_payback():
    figures = roi_figures(
        [], [entry("2026-01", "10.00")], p("2026-01"), kind=ACTUAL, discount_rate=R8
    )
    assert figures.roi_pct is None
    assert figures.payback_period is None  # cumulative cost must be > 0
    assert figures.net_benefit == Decimal("10.00")


def test_cumulative_sums_only_up_to_the_period_and_only_the_kind():
    costs = [
        entry("2026-01", "100.00"),
        entry("2026-02", "50.50"),
        entry("2026-03", "1000.00"),
        entry("2026-02", "999.00", PLAN),
    ]
    assert cumulative(costs, p("2025-12"), ACTUAL) == Decimal("0.00")
    assert cumulative_cost(costs, p("2026-02"), ACTUAL) == Decimal("150.50")
    assert cumulative_benefit(costs, p("2026-02"), PLAN) == Decimal("999.00")
    assert cumulative(costs, p("2030-01"), ACTUAL) == Decimal("1150.50")
    assert net_benefit(Decimal("10.00"), Decimal("150.50")) == Decimal("-140.50")


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("2026-01", None),  # 0 ≥ 300? no
        ("2026-02", None),  # 100 ≥ 300? no
        ("2026-03", None),  # 250 ≥ 300? no
        ("2026-04", "2026-04"),  # 400 ≥ 400: equal counts
        ("2026-05", "2026-04"),
        ("2026-09", "2026-04"),  # stays the first period, even after benefit drops back
    ],
)
def test_payback_is_the_first_period_benefit_reaches_cost(period, expected):
    costs = [entry("2026-01", "300.00"), entry("2026-04", "100.00")]
    benefits = [
        entry("2026-02", "100.00"),
        entry("2026-03", "150.00"),
        entry("2026-04", "150.00"),
        entry("2026-06", "-200.00"),
    ]
    found = payback_period(costs, benefits, p(period), ACTUAL)
    assert found == (p(expected) if expected else None)


def test_npv_three_months_at_eight_percent():
    # m = 0: 2025-11 cost 1000.00 → −1000.00 / 1.08^(0/12) = −1000.000000
    # m = 1: 2025-12 benefit 600.00 → 600 / 1.08^(1/12) = 600 / 1.0064340301 = 596.1642612
    # m = 2: 2026-01 benefit 600.00 → 600 / 1.08^(2/12) = 600 / 1.0129094570 = 592.3530439
    # Σ = 188.5173051 → 188.52 (the year boundary changes nothing: months are counted)
    costs = [entry("2025-11", "1000.00")]
    benefits = [entry("2025-12", "600.00"), entry("2026-01", "600.00")]
    assert npv(costs, benefits, p("2026-01"), ACTUAL, R8) == Decimal("188.52")
    # only m = 0 and m = 1 up to 2025-12: −1000 + 596.1642612 = −403.8357388 → −403.84
    assert npv(costs, benefits, p("2025-12"), ACTUAL, R8) == Decimal("-403.84")


def test_npv_counts_months_from_the_first_entry_even_when_empty_between():
    # m = 0: −1200.00; m = 12: 1296 / 1.08^(12/12) = 1296 / 1.08 = 1200.00 → 0.00
    costs = [entry("2025-03", "1200.00")]
    benefits = [entry("2026-03", "1296.00")]
    assert npv(costs, benefits, p("2026-03"), ACTUAL, R8) == Decimal("0.00")
    # m = 24: 1166.40 / 1.08² = 1166.40 / 1.1664 = 1000.00, so −1200.00 + 1000.00 = −200.00
    benefits = [entry("2027-03", "1166.40")]
    assert npv(costs, benefits, p("2027-03"), ACTUAL, R8) == Decimal("-200.00")
    # a lone entry is its own first month (m = 0) and is not discounted
    assert npv([], benefits, p("2027-03"), ACTUAL, R8) == Decimal("1166.40")


def test_npv_at_zero_rate_is_the_undiscounted_net():
    # m = 0, 1, 2 at r = 0: −1000.00 + 600.00 + 600.00 = 200.00
    costs = [entry("2025-11", "1000.00")]
    benefits = [entry("2025-12", "600.00"), entry("2026-01", "600.00")]
    assert npv(costs, benefits, p("2026-01"), ACTUAL, Decimal(0)) == Decimal("200.00")


def test_npv_first_entry_period_is_per_kind():
    # The plan starts in 2026-01, the actual entries in 2026-03: each is discounted from its own
    # first month, so one plan month-0 benefit of 100.00 is worth 100.00 undiscounted.
    costs = [entry("2026-03", "50.00")]
    benefits = [entry("2026-01", "100.00", PLAN), entry("2026-04", "100.00")]
    assert npv(costs, benefits, p("2026-04"), PLAN, R8) == Decimal("100.00")
    # actual: −50 + 100 / 1.08^(1/12) = −50 + 99.3607102 = 49.3607102 → 49.36
    assert npv(costs, benefits, p("2026-04"), ACTUAL, R8) == Decimal("49.36")


def test_npv_refuses_a_rate_of_minus_one_hundred_percent():
    with pytest.raises(ValueError, match="greater than -1"):
        npv([entry("2026-01", "1.00")], [], p("2026-01"), ACTUAL, Decimal(-1))


def test_plan_and_actual_are_kept_apart():
    costs = [entry("2026-01", "1000.00", PLAN), entry("2026-01", "1200.00", ACTUAL)]
    benefits = [entry("2026-01", "1500.00", PLAN), entry("2026-01", "900.00", ACTUAL)]
    pair = roi_pair(iter(costs), iter(benefits), p("2026-01"), R8)
    plan, actual = pair[PLAN], pair[ACTUAL]
    assert (plan.kind, plan.cumulative_cost, plan.cumulative_benefit) == (
        PLAN,
        Decimal("1000.00"),
        Decimal("1500.00"),
    )
    assert (plan.roi_pct, plan.payback_period) == (Decimal("50.00"), p("2026-01"))
    assert (actual.kind, actual.net_benefit, actual.roi_pct) == (
        ACTUAL,
        Decimal("-300.00"),
        Decimal("-25.00"),
    )
    assert actual.payback_period is None
    assert variance(plan, actual) == {
        "cumulative_cost": Decimal("200.00"),
        "cumulative_benefit": Decimal("-600.00"),
        "net_benefit": Decimal("-800.00"),
        "roi_pct": Decimal("-75.00"),
        "npv": Decimal("-800.00"),
    }


def test_variance_is_none_where_a_side_has_no_roi():
    pair = roi_pair([entry("2026-01", "10.00", PLAN)], [], p("2026-01"), R8)
    result = variance(pair[PLAN], pair[ACTUAL])
    assert result["roi_pct"] is None
    assert result["cumulative_cost"] == Decimal("-10.00")


def test_variance_refuses_different_periods():
    plan = roi_figures([], [], p("2026-01"), kind=PLAN, discount_rate=R8)
    actual = roi_figures([], [], p("2026-02"), kind=ACTUAL, discount_rate=R8)
    with pytest.raises(ValueError, match="cannot compare"):
        variance(plan, actual)


# --------------------------------------------------------------------------- properties

START = Period(2024, 1)
amounts = st.decimals(min_value=0, max_value=Decimal("1000000.00"), places=2)
entries = st.lists(
    st.builds(
        MoneyEntry,
        period=st.integers(0, 36).map(START.shift),
        kind=st.sampled_from(EntryKind),
        amount=amounts,
    ),
    max_size=12,
)
periods = st.integers(0, 36).map(START.shift)
rates = st.decimals(min_value=0, max_value=Decimal("0.5"), places=3)


@given(entries, entries, periods, st.sampled_from(EntryKind))
def test_roi_has_the_sign_of_the_net_benefit(costs, benefits, period, kind):
    figures = roi_figures(costs, benefits, period, kind=kind, discount_rate=R8)
    if figures.roi_pct is None:
        assert figures.cumulative_cost == 0
    else:
        net = figures.net_benefit
        # a tiny net over a huge cost may round to 0.00; the sign never flips
        assert figures.roi_pct * net >= 0
        assert (figures.roi_pct > 0) <= (net > 0)
        assert (figures.roi_pct < 0) <= (net < 0)


@given(entries, entries, periods, st.sampled_from(EntryKind))
def test_npv_at_zero_rate_equals_net_benefit(costs, benefits, period, kind):
    figures = roi_figures(costs, benefits, period, kind=kind, discount_rate=Decimal(0))
    assert figures.npv == figures.net_benefit


@given(
    entries,
    entries,
    periods,
    st.sampled_from(EntryKind),
    rates,
    st.integers(1, 24),
    st.booleans(),
    st.sampled_from(EntryKind),
    amounts,
)
def test_a_later_entry_never_changes_an_earlier_period(
    costs, benefits, period, kind, rate, months_later, is_cost, new_kind, amount
):
    before = roi_figures(costs, benefits, period, kind=kind, discount_rate=rate)
    later = MoneyEntry(period.shift(months_later), new_kind, amount)
    if is_cost:
        costs = [*costs, later]
    else:
        benefits = [*benefits, later]
    after = roi_figures(costs, benefits, period, kind=kind, discount_rate=rate)
    assert after == before


@given(entries, entries, periods, st.sampled_from(EntryKind))
def test_payback_is_never_after_the_period_and_really_pays_back(costs, benefits, period, kind):
    found = payback_period(costs, benefits, period, kind)
    if found is not None:
        assert found <= period
        cost = cumulative(costs, found, kind)
        assert cumulative(benefits, found, kind) >= cost > 0
        earlier = payback_period(costs, benefits, found.previous(), kind)
        assert earlier is None
