"""The fast paths of the figures equal the straightforward computations they replace.

``roi_pair`` sums each kind's entries in one pass; ``load_figures`` counts the due and
measured KPIs of P without listing tracked periods; the ROI endpoint dumps
``ProjectFigures`` by hand. Each is compared here with the plain version (hypothesis).
"""

import decimal
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from crmphase.metrics.figures import (
    KpiInput,
    due_and_measured_in,
    project_figures,
)
from crmphase.metrics.roi import (
    Cadence,
    Direction,
    EntryKind,
    MoneyEntry,
    RoiFigures,
    roi_figures,
    roi_pair,
)
from crmphase.metrics.tracking import (
    KpiSchedule,
    PositionChange,
    ProjectTracking,
    tracked_in,
    tracked_periods,
)
from crmphase.money import round_half_up
from crmphase.periods import Period

FIRST = Period(2024, 1)
periods = st.integers(0, 35).map(FIRST.shift)
amounts = st.decimals(min_value=0, max_value=Decimal("999999999.99"), places=2, allow_nan=False)
kinds = st.sampled_from(list(EntryKind))
entries = st.lists(st.builds(MoneyEntry, periods, kinds, amounts), max_size=40)
rates = st.sampled_from([Decimal("0"), Decimal("0.08"), Decimal("0.1234"), Decimal("0.5")])


# --------------------------------------------------------------------------- money


def _reference_figures(costs, benefits, period, kind, rate) -> RoiFigures:
    """roi_figures as it was written before the one-pass sums: a pass per figure."""

    def relevant(items):
        return [e for e in items if e.kind == kind and e.period <= period]

    def by_period(items):
        totals = {}
        for e in items:
            totals[e.period] = totals.get(e.period, Decimal(0)) + e.amount
        return totals

    cost = round_half_up(sum((e.amount for e in relevant(costs)), Decimal(0)))
    benefit = round_half_up(sum((e.amount for e in relevant(benefits)), Decimal(0)))
    net = benefit - cost
    roi = None
    if cost != 0:
        with decimal.localcontext() as ctx:
            ctx.prec = 34
            roi = round_half_up(net * 100 / cost)
    net_by_period = by_period(relevant(benefits))
    for month, amount in by_period(relevant(costs)).items():
        net_by_period[month] = net_by_period.get(month, Decimal(0)) - amount
    npv = Decimal("0.00")
    if net_by_period:
        first = min(net_by_period)
        with decimal.localcontext() as ctx:
            ctx.prec = 34
            growth = 1 + rate
            total = Decimal(0)
            for month, amount in net_by_period.items():
                total += amount / growth ** (Decimal(month.months_since(first)) / 12)
            npv = round_half_up(total)
    cost_by, benefit_by = by_period(relevant(costs)), by_period(relevant(benefits))
    payback = None
    total_cost = total_benefit = Decimal(0)
    for month in sorted(cost_by.keys() | benefit_by.keys()):
        total_cost += cost_by.get(month, Decimal(0))
        total_benefit += benefit_by.get(month, Decimal(0))
        if total_benefit >= total_cost > 0:
            payback = month
            break
    return RoiFigures(period, kind, cost, benefit, net, roi, npv, payback)


def _exactly(figures: RoiFigures) -> tuple:
    """The figures with each decimal's exponent (Decimal("1.0") == Decimal("1.00"))."""
    return tuple(repr(getattr(figures, name)) for name in RoiFigures.__dataclass_fields__)


@settings(max_examples=300, deadline=None)
@given(entries, entries, periods, rates)
def test_roi_pair_and_roi_figures_equal_the_pass_per_figure_computation(
    costs, benefits, period, rate
):
    pair = roi_pair(costs, benefits, period, rate)
    for kind in EntryKind:
        expected = _exactly(_reference_figures(costs, benefits, period, kind, rate))
        assert _exactly(pair[kind]) == expected
        single = roi_figures(iter(costs), iter(benefits), period, kind=kind, discount_rate=rate)
        assert _exactly(single) == expected


# --------------------------------------------------------------------------- tracking

days = st.integers(0, 3 * 365).map(lambda n: date(2024, 1, 1) + timedelta(days=n))
changes = st.lists(
    st.builds(
        PositionChange,
        days,
        st.sampled_from(["strategize", "evaluate", "execute", "manage"]),
        st.sampled_from(["active", "on_hold", "killed", "completed"]),
    ),
    max_size=8,
)


@settings(max_examples=400, deadline=None)
@given(changes, periods)
def test_tracked_in_equals_membership_in_tracked_periods(history, period):
    assert tracked_in(history, period) == (period in tracked_periods(history, period))


kpi_specs = st.lists(
    st.tuples(
        st.one_of(st.none(), periods),  # baseline period
        st.sampled_from(list(Cadence)),
        st.one_of(st.none(), periods),  # latest measured period at or before P
    ),
    max_size=8,
)


@settings(max_examples=400, deadline=None)
@given(kpi_specs, changes, periods)
def test_due_and_measured_counts_equal_the_tracking_kpi_periods(specs, history, period):
    kpis, latest, measured = [], {}, {}
    for kpi_id, (baseline, cadence, last) in enumerate(specs, start=1):
        kpis.append(
            KpiInput(
                kpi_id=kpi_id,
                name=f"K{kpi_id}",
                unit="",
                direction=Direction.UP,
                baseline_value=Decimal(0),
                baseline_period=baseline,
                target_value=Decimal(10),
                target_period=baseline,
                cadence=cadence,
            )
        )
        if last is not None and last <= period:
            latest[kpi_id] = last
            # what load_tracking(since=P, through=P) reads: the measurement of P, if any
            measured[kpi_id] = frozenset({last} & {period})
    tracking = ProjectTracking(
        project_id=1,
        grace_days=10,
        tracked=tracked_periods(history, period),
        kpis=tuple(KpiSchedule(k.kpi_id, 1, k.baseline_period, k.cadence) for k in kpis),
        measured=measured,
    )
    due_periods = tracking.kpi_periods(through=period, today=date(2030, 1, 1), first=period)
    expected = (len(due_periods), sum(1 for kp in due_periods if kp.measured))
    got = due_and_measured_in(kpis, latest, period, tracked=tracked_in(history, period))
    assert got == expected


# --------------------------------------------------------------------------- JSON

values = st.decimals(min_value=-1000, max_value=1000, places=6, allow_nan=False)
measurements = st.dictionaries(periods, values, max_size=4)
kpi_inputs = st.builds(
    KpiInput,
    kpi_id=st.integers(1, 10**6),
    name=st.text(max_size=10),
    unit=st.text(max_size=5),
    direction=st.sampled_from(list(Direction)),
    baseline_value=st.one_of(st.none(), values),
    baseline_period=st.one_of(st.none(), periods),
    target_value=st.one_of(st.none(), values),
    target_period=st.one_of(st.none(), periods),
    cadence=st.sampled_from(list(Cadence)),
    measurements=measurements,
)


@settings(max_examples=200, deadline=None)
@given(
    entries,
    entries,
    periods,
    rates,
    st.lists(kpi_inputs, max_size=4),
    st.integers(0, 5),
    st.integers(0, 5),
)
def test_hand_written_dump_equals_the_marshmallow_dump(
    costs, benefits, period, rate, kpis, due, extra
):
    import marshmallow as ma

    from crmphase.metrics.schemas import ProjectFiguresSchema

    figures = project_figures(
        42,
        period,
        costs=costs,
        benefits=benefits,
        discount_rate=rate,
        kpis=kpis,
        due_count=due + extra,
        measured_count=due,
    )
    schema = ProjectFiguresSchema()
    generic = ma.Schema.dump(schema, figures)
    assert schema.dump(figures) == generic
    assert list(schema.dump(figures)) == list(generic)
    assert ProjectFiguresSchema(many=True).dump([figures]) == [generic]
