"""SPEC §4 KPI figures: attainment, expected progress, status, due, missing, coverage."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmphase.metrics.roi import (
    Cadence,
    Coverage,
    Direction,
    KpiProgress,
    KpiStatus,
    KpiTarget,
    attainment,
    combine,
    expected_progress,
    kpi_progress,
    kpi_status,
    latest_value,
    measurement_coverage,
)
from crmphase.metrics.rules import due_periods, grace_ends, is_due, is_missing, missing_periods
from crmphase.periods import Period


def p(text: str) -> Period:
    return Period.parse(text)


def kpi(
    baseline: str = "0",
    target: str = "100",
    baseline_period: str = "2026-01",
    target_period: str = "2026-11",
    cadence: Cadence = Cadence.MONTHLY,
    direction: Direction = Direction.UP,
) -> KpiTarget:
    return KpiTarget(
        direction=direction,
        baseline_value=Decimal(baseline),
        baseline_period=p(baseline_period),
        target_value=Decimal(target),
        target_period=p(target_period),
        cadence=cadence,
    )


def always(_period: Period) -> bool:
    return True


# --------------------------------------------------------------------------- attainment


def test_latest_value_is_the_latest_at_or_before_the_period():
    values = {p("2026-01"): Decimal(1), p("2026-03"): Decimal(3), p("2026-06"): Decimal(6)}
    assert latest_value(values, p("2025-12")) is None
    assert latest_value(values, p("2026-01")) == 1
    assert latest_value(values, p("2026-05")) == 3
    assert latest_value(values, p("2027-01")) == 6
    assert latest_value({}, p("2026-01")) is None


@pytest.mark.parametrize(
    ("baseline", "target", "measured", "expected"),
    [
        ("20", "10", "15", Decimal("50.00")),  # a down KPI: 20 → 10, now 15 is half way
        ("20", "10", "10", Decimal("100.00")),
        ("20", "10", "25", Decimal("-50.00")),  # worse than the baseline: kept below 0
        ("20", "10", "5", Decimal("150.00")),  # beyond the target: kept over 100
        ("0", "100", "130", Decimal("130.00")),
        ("0", "100", "-10", Decimal("-10.00")),
        ("0", "3", "1", Decimal("33.33")),
        ("0", "3", "2", Decimal("66.67")),
        ("0", "800", "1", Decimal("0.13")),  # 0.125 → half-up
        ("50", "50", "70", None),  # target equals baseline: no meaningful attainment
    ],
)
def test_attainment(baseline, target, measured, expected):
    target_kpi = kpi(baseline, target, direction=Direction.DOWN)
    values = {p("2026-02"): Decimal(measured)}
    assert attainment(target_kpi, values, p("2026-03")) == expected


def test_attainment_without_measurement_is_none():
    values = {p("2026-04"): Decimal(10)}
    assert attainment(kpi(), values, p("2026-03")) is None
    assert attainment(kpi(), {}, p("2026-03")) is None


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("2025-12", Decimal("0.00")),  # before the baseline period: floored at 0
        ("2026-01", Decimal("0.00")),
        ("2026-02", Decimal("10.00")),  # 1 / 10 months
        ("2026-06", Decimal("50.00")),
        ("2026-11", Decimal("100.00")),
        ("2027-05", Decimal("100.00")),  # after the target period: capped at 100
    ],
)
def test_expected_progress(period, expected):
    assert expected_progress(kpi(), p(period)) == expected


def test_expected_progress_rounds_half_up():
    # baseline 2026-01, target 2026-04: 3 months; after 1 month 33.333 → 33.33, 2 → 66.67
    three_months = kpi(target_period="2026-04")
    assert expected_progress(three_months, p("2026-02")) == Decimal("33.33")
    assert expected_progress(three_months, p("2026-03")) == Decimal("66.67")


def test_expected_progress_when_target_period_is_the_baseline_period():
    same = kpi(target_period="2026-01")
    assert expected_progress(same, p("2026-01")) == Decimal("100.00")
    assert expected_progress(same, p("2025-06")) == Decimal("100.00")


@pytest.mark.parametrize(
    ("achieved", "expected", "status"),
    [
        (None, "50", KpiStatus.NO_DATA),
        ("45.00", "50", KpiStatus.ON_TRACK),  # exactly 0.9 × 50
        ("44.99", "50", KpiStatus.AT_RISK),
        ("30.00", "50", KpiStatus.AT_RISK),  # exactly 0.6 × 50
        ("29.99", "50", KpiStatus.OFF_TRACK),
        ("90.00", "100", KpiStatus.ON_TRACK),
        ("60.00", "100", KpiStatus.AT_RISK),
        ("59.99", "100", KpiStatus.OFF_TRACK),
        ("130", "100", KpiStatus.ON_TRACK),
        ("0", "0", KpiStatus.ON_TRACK),  # nothing expected yet, nothing lost
        ("-0.01", "0", KpiStatus.OFF_TRACK),  # worse than the baseline from day one
    ],
)
def test_status_thresholds(achieved, expected, status):
    value = None if achieved is None else Decimal(achieved)
    assert kpi_status(value, Decimal(expected)) == status


def test_kpi_progress_puts_it_together():
    # baseline 2026-01, target 2026-11; in 2026-06 expected 50, measured 40 → 40 ≥ 30: at risk
    values = {p("2026-04"): Decimal(40)}
    assert kpi_progress(kpi(), values, p("2026-06")) == KpiProgress(
        latest=Decimal(40),
        attainment=Decimal("40.00"),
        expected=Decimal("50.00"),
        status=KpiStatus.AT_RISK,
    )
    assert kpi_progress(kpi(), {}, p("2026-06")).status == KpiStatus.NO_DATA


# --------------------------------------------------------------------------- due and missing


@pytest.mark.parametrize("month", range(1, 13))
def test_quarterly_kpi_is_due_only_at_quarter_ends(month):
    quarterly = kpi(baseline_period="2025-01", cadence=Cadence.QUARTERLY)
    assert is_due(quarterly, Period(2026, month), always) is (month in (3, 6, 9, 12))


@pytest.mark.parametrize("month", range(1, 13))
def test_monthly_kpi_is_due_every_month(month):
    assert is_due(kpi(baseline_period="2025-01"), Period(2026, month), always)


def test_period_before_the_baseline_is_not_due():
    assert not is_due(kpi(baseline_period="2026-03"), p("2026-02"), always)
    assert is_due(kpi(baseline_period="2026-03"), p("2026-03"), always)


def test_untracked_period_is_not_due():
    tracked = {p("2026-02"), p("2026-04")}
    target = kpi()
    assert is_due(target, p("2026-02"), tracked.__contains__)
    assert not is_due(target, p("2026-03"), tracked.__contains__)


def test_due_periods_cross_the_year_boundary():
    quarterly = kpi(baseline_period="2025-11", cadence=Cadence.QUARTERLY)
    assert due_periods(quarterly, p("2025-10"), p("2026-04"), always) == [
        p("2025-12"),
        p("2026-03"),
    ]
    monthly = kpi(baseline_period="2025-11")
    assert due_periods(monthly, p("2025-01"), p("2026-02"), always) == [
        p("2025-11"),
        p("2025-12"),
        p("2026-01"),
        p("2026-02"),
    ]


@pytest.mark.parametrize(
    ("period", "grace_days", "last_on_time"),
    [
        ("2026-01", 10, date(2026, 2, 10)),
        ("2025-12", 10, date(2026, 1, 10)),  # over the year boundary
        ("2024-02", 0, date(2024, 2, 29)),  # leap year, no grace at all
        ("2026-02", 3, date(2026, 3, 3)),
    ],
)
def test_grace_ends_on_the_last_day_still_on_time(period, grace_days, last_on_time):
    assert grace_ends(p(period), grace_days) == last_on_time


def test_grace_days_cannot_be_negative():
    with pytest.raises(ValueError, match="negative"):
        grace_ends(p("2026-01"), -1)


@pytest.mark.parametrize(
    ("today", "measured", "due", "missing"),
    [
        (date(2026, 1, 10), False, True, False),  # last grace day: not yet missing
        (date(2026, 1, 11), False, True, True),  # the next day: missing
        (date(2025, 12, 31), False, True, False),
        (date(2026, 1, 11), True, True, False),  # measured
        (date(2026, 1, 11), False, False, False),  # not due
    ],
)
def test_missing_after_the_grace_days(today, measured, due, missing):
    assert is_missing(p("2025-12"), measured, today, 10, due) is missing


def test_missing_periods_lists_due_unmeasured_periods_past_their_grace():
    target = kpi(baseline_period="2025-10")
    tracked = {p("2025-10"), p("2025-11"), p("2025-12"), p("2026-01"), p("2026-02")}
    measured = {p("2025-11")}
    # on 2026-02-10 the grace of 2026-01 (10 days) has not ended; 2026-02 has not even ended
    today = date(2026, 2, 10)
    assert missing_periods(target, measured, today, 10, tracked.__contains__) == [
        p("2025-10"),
        p("2025-12"),
    ]
    today = date(2026, 2, 11)
    assert missing_periods(target, measured, today, 10, tracked.__contains__) == [
        p("2025-10"),
        p("2025-12"),
        p("2026-01"),
    ]
    assert missing_periods(
        target, measured, today, 10, tracked.__contains__, first=p("2025-12")
    ) == [p("2025-12"), p("2026-01")]


def test_missing_periods_of_a_quarterly_kpi():
    quarterly = kpi(baseline_period="2025-01", cadence=Cadence.QUARTERLY)
    assert missing_periods(quarterly, {p("2025-06")}, date(2025, 12, 31), 10, always) == [
        p("2025-03"),
        p("2025-09"),
    ]


# --------------------------------------------------------------------------- coverage


def test_coverage_counts_measured_due_periods():
    coverage = measurement_coverage([True, False, True])
    assert coverage == Coverage(measured=2, due=3)
    assert coverage.ratio == Decimal("0.6667")
    assert coverage.percent == Decimal("66.67")


def test_coverage_with_nothing_due_is_none():
    assert measurement_coverage([]).ratio is None
    assert measurement_coverage([]).percent is None


def test_portfolio_coverage_sums_counts_instead_of_averaging_ratios():
    # Average of the ratios would be (1/1 + 0/3) / 2 = 0.5; the portfolio measured 1 of 4.
    portfolio = combine([Coverage(1, 1), Coverage(0, 3)])
    assert portfolio == Coverage(measured=1, due=4)
    assert portfolio.ratio == Decimal("0.2500")
    assert combine([]).ratio is None


@pytest.mark.parametrize(("measured", "due"), [(-1, 3), (4, 3)])
def test_coverage_refuses_impossible_counts(measured, due):
    with pytest.raises(ValueError, match="measured"):
        Coverage(measured, due)


@given(st.lists(st.booleans()))
def test_coverage_ratio_is_between_zero_and_one(flags):
    ratio = measurement_coverage(flags).ratio
    assert ratio is None if not flags else Decimal(0) <= ratio <= Decimal(1)


@given(st.lists(st.lists(st.booleans()), max_size=6))
def test_combined_coverage_is_the_coverage_of_all_periods(projects):
    combined = combine(measurement_coverage(flags) for flags in projects)
    everything = measurement_coverage(flag for flags in projects for flag in flags)
    assert combined == everything


@given(
    st.integers(0, 60).map(Period(2024, 1).shift),
    st.integers(0, 24),
    st.integers(-12, 60),
)
def test_expected_progress_stays_between_zero_and_one_hundred(baseline, length, offset):
    target = KpiTarget(
        Direction.UP, Decimal(0), baseline, Decimal(1), baseline.shift(length), Cadence.MONTHLY
    )
    assert Decimal(0) <= expected_progress(target, baseline.shift(offset)) <= Decimal(100)
