"""Invariants of project_figures, money_ledger and the charts (hypothesis, no app)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from crmphase.metrics.charts import kpi_chart, money_chart
from crmphase.metrics.roi import Cadence, Direction, EntryKind, KpiStatus, MoneyEntry
from crmphase.metrics.rules import KpiInput, money_ledger, project_figures
from crmphase.periods import Period

FIRST = Period(2025, 1)
periods = st.integers(0, 23).map(FIRST.shift)
amounts = st.decimals(min_value=0, max_value=Decimal("100000"), places=2, allow_nan=False)
entries = st.lists(st.builds(MoneyEntry, periods, st.sampled_from(list(EntryKind)), amounts))
values = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)
measurements = st.dictionaries(periods, values, max_size=8)


def kpi(measured, direction=Direction.UP, baseline="0", target="100"):
    return KpiInput(
        kpi_id=1,
        name="K",
        unit="",
        direction=direction,
        baseline_value=Decimal(baseline),
        baseline_period=FIRST,
        target_value=Decimal(target),
        target_period=FIRST.shift(12),
        cadence=Cadence.MONTHLY,
        measurements=measured,
    )


@settings(max_examples=150, deadline=None)
@given(entries, entries, periods)
def test_roi_sign_equals_net_sign(costs, benefits, period):
    result = project_figures(1, period, costs=costs, benefits=benefits)
    for figures in (result.actual, result.plan):
        if figures.roi_pct is None:
            assert figures.cumulative_cost == 0
        elif figures.net_benefit != 0:
            # a tiny net can round to 0.00 %, never to the opposite sign
            assert figures.roi_pct == 0 or (figures.roi_pct > 0) == (figures.net_benefit > 0)


@settings(max_examples=150, deadline=None)
@given(
    entries,
    entries,
    periods,
    st.builds(MoneyEntry, periods, st.sampled_from(list(EntryKind)), amounts),
    measurements,
    values,
)
def test_a_later_entry_or_measurement_never_changes_an_earlier_period(
    costs, benefits, period, extra, measured, value
):
    before = project_figures(1, period, costs=costs, benefits=benefits, kpis=[kpi(measured)])
    later = MoneyEntry(
        period.next().shift(extra.period.months_since(FIRST)), extra.kind, extra.amount
    )
    after = project_figures(
        1,
        period,
        costs=[*costs, later],
        benefits=[*benefits, later],
        kpis=[kpi({**measured, period.next(): value})],
    )
    assert after == before


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 50), st.integers(0, 50))
def test_coverage_stays_within_zero_and_one(a, b):
    due, measured = max(a, b), min(a, b)
    result = project_figures(1, FIRST, due_count=due, measured_count=measured)
    ratio = result.coverage.ratio
    assert ratio is None if due == 0 else 0 <= ratio <= 1
    assert result.measured == (due == measured)


@settings(max_examples=100, deadline=None)
@given(measurements, periods)
def test_project_status_is_no_data_only_without_measurements(measured, period):
    result = project_figures(1, period, kpis=[kpi(measured)])
    has_data = any(p <= period for p in measured)
    assert (result.status == KpiStatus.NO_DATA) == (not has_data)
    assert (result.kpi_attainment is None) == (not has_data)


def test_down_kpi_from_20_to_10_measured_at_15_is_half_attained():
    result = project_figures(
        1,
        FIRST.shift(6),
        kpis=[kpi({FIRST.shift(6): Decimal(15)}, Direction.DOWN, "20", "10")],
    )
    assert result.kpis[0].attainment == Decimal("50.00")
    assert result.kpi_attainment == Decimal("50.00")


@settings(max_examples=100, deadline=None)
@given(entries, entries)
def test_ledger_cumulates_to_the_figures(costs, benefits):
    rows = money_ledger(costs, benefits)
    if not costs and not benefits:
        assert rows == []
        return
    assert [r.period for r in rows] == sorted({r.period for r in rows})
    for row in rows:
        figures = project_figures(1, row.period, costs=costs, benefits=benefits)
        assert row.actual_net == figures.actual.net_benefit
        assert row.plan_net == figures.plan.net_benefit
    chart = money_chart(rows, "EUR")
    assert len(chart["data"][0]["x"]) == len(rows)


def test_kpi_chart_traces():
    measured = {FIRST.shift(2): Decimal("30"), FIRST.shift(1): Decimal("12.5")}
    chart = kpi_chart(kpi(measured), measured, through=FIRST.shift(3), missing=[FIRST.shift(3)])
    actual, baseline, target, expected, missing = chart["data"]
    assert actual["x"] == ["2025-02-01", "2025-03-01", "2025-04-01"]
    assert actual["y"] == [12.5, 30.0, None] and actual["connectgaps"] is False
    assert baseline["y"] == [0.0, 0.0] and target["y"] == [100.0, 100.0]
    assert expected["x"] == ["2025-01-01", "2026-01-01"] and expected["y"] == [0.0, 100.0]
    assert missing["x"] == ["2025-04-01"] and missing["marker"]["symbol"] == "x"
    incomplete = KpiInput(2, "Calls", "", Direction.UP, None, None, None, None)
    assert [t["name"] for t in kpi_chart(incomplete, {}, through=FIRST)["data"]] == ["Actual"]


def test_ledger_has_no_actual_side_after_actual_through():
    costs = [
        MoneyEntry(FIRST, EntryKind.PLAN, Decimal(10)),
        MoneyEntry(FIRST, EntryKind.ACTUAL, Decimal(4)),
    ]
    rows = money_ledger(costs, [], through=FIRST.shift(2), actual_through=FIRST.shift(1))
    assert [r.actual_net for r in rows] == [Decimal(-4), Decimal(-4), None]
    assert [r.plan_net for r in rows] == [Decimal(-10)] * 3
    assert rows[2].cost_variance is None and rows[0].cost_variance == Decimal(-6)
