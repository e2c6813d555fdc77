"""Benefit, ROI and KPI measurement math (SPEC §4), as plain functions: cumulative sums,
net benefit, ROI %, NPV, payback, attainment, expected progress, KPI status, coverage.

Pure: plain values in (dataclasses, ``Decimal``, :class:`Period`), results out. No Flask, no
database, no clock. When a KPI is due or missing is in :mod:`crmphase.metrics.rules`.
"""

from __future__ import annotations

import decimal
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from crmphase.money import parse_decimal, round_half_up
from crmphase.periods import Period

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
ON_TRACK_SHARE = Decimal("0.9")
AT_RISK_SHARE = Decimal("0.6")
# Enough digits that the fractional discount powers cannot move the rounded cents.
_NPV_PRECISION = 34


class EntryKind(StrEnum):
    PLAN = "plan"
    ACTUAL = "actual"


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


class Cadence(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class KpiStatus(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    NO_DATA = "no_data"


# --------------------------------------------------------------------------- money and ROI


@dataclass(frozen=True)
class MoneyEntry:
    """One cost or benefit entry: an amount booked for a period as plan or actual."""

    period: Period
    kind: EntryKind
    amount: Decimal


@dataclass(frozen=True)
class RoiFigures:
    """Every SPEC §4 money figure of one project, for one period and one kind."""

    period: Period
    kind: EntryKind
    cumulative_cost: Decimal
    cumulative_benefit: Decimal
    net_benefit: Decimal
    roi_pct: Decimal | None
    npv: Decimal
    payback_period: Period | None


def amounts_by_period(
    entries: Iterable[MoneyEntry], period: Period, kind: EntryKind
) -> dict[Period, Decimal]:
    """The total of each period's ``kind`` amounts, for ``period`` and earlier: what every
    money figure is computed from."""
    totals: dict[Period, Decimal] = {}
    for entry in entries:
        if entry.kind == kind and entry.period <= period:
            totals[entry.period] = totals.get(entry.period, Decimal(0)) + entry.amount
    return totals


def _total(by_period: Mapping[Period, Decimal]) -> Decimal:
    return round_half_up(sum(by_period.values(), Decimal(0)))


def cumulative(entries: Iterable[MoneyEntry], period: Period, kind: EntryKind) -> Decimal:
    """Sum of the ``kind`` amounts booked for ``period`` or earlier, in cents."""
    return _total(amounts_by_period(entries, period, kind))


def cumulative_cost(costs: Iterable[MoneyEntry], period: Period, kind: EntryKind) -> Decimal:
    """``cumulative_cost(P)``: Σ cost amounts of ``kind`` with period ≤ P."""
    return cumulative(costs, period, kind)


def cumulative_benefit(benefits: Iterable[MoneyEntry], period: Period, kind: EntryKind) -> Decimal:
    """``cumulative_benefit(P)``: Σ benefit amounts of ``kind`` with period ≤ P."""
    return cumulative(benefits, period, kind)


def net_benefit(cumulative_benefit: Decimal, cumulative_cost: Decimal) -> Decimal:
    """``net_benefit`` = cumulative benefit − cumulative cost."""
    return cumulative_benefit - cumulative_cost


def roi_pct(net: Decimal, cost: Decimal) -> Decimal | None:
    """``net / cost × 100`` rounded half-up to 2 places; ``None`` when ``cost`` is 0."""
    if cost == 0:
        return None
    with decimal.localcontext() as ctx:
        ctx.prec = _NPV_PRECISION
        return round_half_up(net * HUNDRED / cost)


def payback_period(
    costs: Iterable[MoneyEntry], benefits: Iterable[MoneyEntry], period: Period, kind: EntryKind
) -> Period | None:
    """The first period at which cumulative benefit ≥ cumulative cost > 0, up to ``period``.

    ``None`` when that has not happened yet. Once reached it stays, even if later entries
    push the cumulative benefit back below the cost.
    """
    return _payback_of(
        amounts_by_period(costs, period, kind), amounts_by_period(benefits, period, kind)
    )


def npv(
    costs: Iterable[MoneyEntry],
    benefits: Iterable[MoneyEntry],
    period: Period,
    kind: EntryKind,
    discount_rate: Decimal,
) -> Decimal:
    """Net present value at ``period``, rounded half-up to 2 places.

    Σ over months t from the first entry period (the earliest ``kind`` entry, cost or benefit)
    to ``period`` of (benefit_t − cost_t) / (1 + r)^(m_t / 12), where r is the annual
    ``discount_rate`` and m_t the months since the first entry period (m = 0 in that month).
    Months without entries add nothing. 0.00 when there are no entries.
    """
    _check_discount_rate(discount_rate)
    return _npv_of(
        amounts_by_period(costs, period, kind),
        amounts_by_period(benefits, period, kind),
        discount_rate,
    )


def _check_discount_rate(discount_rate: Decimal) -> None:
    if discount_rate <= -1:
        raise ValueError("a discount rate must be greater than -1 (-100 %)")


@functools.lru_cache(maxsize=4096)
def _discount_factor(growth: Decimal, months: int) -> Decimal:
    """(1 + r)^(months / 12) at NPV precision; cached, as portfolios share rates and months."""
    with decimal.localcontext() as ctx:
        ctx.prec = _NPV_PRECISION
        return growth ** (Decimal(months) / 12)


def _npv_of(
    cost_by_period: Mapping[Period, Decimal],
    benefit_by_period: Mapping[Period, Decimal],
    discount_rate: Decimal,
) -> Decimal:
    """:func:`npv` from each period's totals (costs and benefits of one kind, up to P)."""
    net_by_period = dict(benefit_by_period)
    for month, amount in cost_by_period.items():
        net_by_period[month] = net_by_period.get(month, Decimal(0)) - amount
    if not net_by_period:
        return ZERO
    first = min(net_by_period)
    with decimal.localcontext() as ctx:
        ctx.prec = _NPV_PRECISION
        growth = 1 + parse_decimal(discount_rate)
        total = sum(
            (
                amount / _discount_factor(growth, month.months_since(first))
                for month, amount in net_by_period.items()
            ),
            Decimal(0),
        )
        return round_half_up(total)


def _payback_of(
    cost_by_period: Mapping[Period, Decimal], benefit_by_period: Mapping[Period, Decimal]
) -> Period | None:
    """:func:`payback_period` from each period's totals (one kind, up to P)."""
    # Cumulative sums only change in periods that have entries, so those are the only candidates.
    total_cost = total_benefit = Decimal(0)
    for month in sorted(cost_by_period.keys() | benefit_by_period.keys()):
        total_cost += cost_by_period.get(month, Decimal(0))
        total_benefit += benefit_by_period.get(month, Decimal(0))
        if total_benefit >= total_cost > 0:
            return month
    return None


def roi_figures(
    costs: Iterable[MoneyEntry],
    benefits: Iterable[MoneyEntry],
    period: Period,
    *,
    kind: EntryKind,
    discount_rate: Decimal,
) -> RoiFigures:
    """All SPEC §4 money figures for ``period`` from the entries of ``kind``.

    Entries of the other kind and entries after ``period`` are ignored, so adding a later
    entry never changes the figures of an earlier period.
    """
    cost_by_period = amounts_by_period(costs, period, kind)
    benefit_by_period = amounts_by_period(benefits, period, kind)
    _check_discount_rate(discount_rate)
    cost, benefit = _total(cost_by_period), _total(benefit_by_period)
    net = net_benefit(benefit, cost)
    return RoiFigures(
        period=period,
        kind=kind,
        cumulative_cost=cost,
        cumulative_benefit=benefit,
        net_benefit=net,
        roi_pct=roi_pct(net, cost),
        npv=_npv_of(cost_by_period, benefit_by_period, discount_rate),
        payback_period=_payback_of(cost_by_period, benefit_by_period),
    )


def roi_pair(
    costs: Iterable[MoneyEntry],
    benefits: Iterable[MoneyEntry],
    period: Period,
    discount_rate: Decimal,
) -> dict[EntryKind, RoiFigures]:
    """The figures twice: from ``plan`` entries (the business case) and from ``actual`` ones."""
    costs, benefits = list(costs), list(benefits)
    return {
        kind: roi_figures(costs, benefits, period, kind=kind, discount_rate=discount_rate)
        for kind in (EntryKind.PLAN, EntryKind.ACTUAL)
    }


VARIANCE_FIELDS = ("cumulative_cost", "cumulative_benefit", "net_benefit", "roi_pct", "npv")


def variance(plan: RoiFigures, actual: RoiFigures) -> dict[str, Decimal | None]:
    """Actual − plan for each figure in :data:`VARIANCE_FIELDS` (``roi_pct`` in points).

    A figure is ``None`` when either side is ``None`` (an ROI without cost).
    """
    if plan.period != actual.period:
        raise ValueError(f"cannot compare {plan.period} with {actual.period}")
    result: dict[str, Decimal | None] = {}
    for name in VARIANCE_FIELDS:
        planned, happened = getattr(plan, name), getattr(actual, name)
        result[name] = None if planned is None or happened is None else happened - planned
    return result


# --------------------------------------------------------------------------- KPIs


@dataclass(frozen=True)
class KpiTarget:
    """What a KPI promises: from ``baseline_value`` at its baseline period to ``target_value``."""

    direction: Direction
    baseline_value: Decimal
    baseline_period: Period
    target_value: Decimal
    target_period: Period
    cadence: Cadence


@dataclass(frozen=True)
class KpiProgress:
    """Where a KPI stands in a period: latest value, attainment, expected progress, status."""

    latest: Decimal | None
    attainment: Decimal | None
    expected: Decimal
    status: KpiStatus


def latest_value(measurements: Mapping[Period, Decimal], period: Period) -> Decimal | None:
    """The value of the latest measured period at or before ``period``; ``None`` if none."""
    earlier = [p for p in measurements if p <= period]
    return measurements[max(earlier)] if earlier else None


def attainment(
    kpi: KpiTarget, measurements: Mapping[Period, Decimal], period: Period
) -> Decimal | None:
    """(latest − baseline) / (target − baseline) × 100, half-up to 2 places, not clipped.

    The same formula serves ``down`` KPIs: both differences are negative when things improve.
    ``None`` without a measurement at or before ``period`` or when target equals baseline.
    """
    return _attainment_of(kpi, latest_value(measurements, period))


def _attainment_of(kpi: KpiTarget, latest: Decimal | None) -> Decimal | None:
    """:func:`attainment` from the latest value already found."""
    span = kpi.target_value - kpi.baseline_value
    if latest is None or span == 0:
        return None
    with decimal.localcontext() as ctx:
        ctx.prec = _NPV_PRECISION
        return round_half_up((latest - kpi.baseline_value) * HUNDRED / span)


def expected_progress(kpi: KpiTarget, period: Period) -> Decimal:
    """Share of the baseline→target time elapsed at ``period``, in percent (0 to 100, 2 places).

    0 before the baseline period; 100 from the target period on, and always 100 when the
    target period is not after the baseline period.
    """
    planned_months = kpi.target_period.months_since(kpi.baseline_period)
    elapsed = period.months_since(kpi.baseline_period)
    if planned_months <= 0:
        return round_half_up(HUNDRED)
    share = Decimal(elapsed) * HUNDRED / planned_months
    return round_half_up(min(HUNDRED, max(Decimal(0), share)))


def kpi_status(attainment: Decimal | None, expected: Decimal) -> KpiStatus:
    """on_track at ≥ 0.9 × expected, at_risk at ≥ 0.6 × expected, else off_track; no_data."""
    if attainment is None:
        return KpiStatus.NO_DATA
    if attainment >= ON_TRACK_SHARE * expected:
        return KpiStatus.ON_TRACK
    if attainment >= AT_RISK_SHARE * expected:
        return KpiStatus.AT_RISK
    return KpiStatus.OFF_TRACK


def kpi_progress(
    kpi: KpiTarget, measurements: Mapping[Period, Decimal], period: Period
) -> KpiProgress:
    """Latest value, attainment, expected progress and status of ``kpi`` at ``period``."""
    latest = latest_value(measurements, period)
    achieved = _attainment_of(kpi, latest)
    expected = expected_progress(kpi, period)
    return KpiProgress(
        latest=latest,
        attainment=achieved,
        expected=expected,
        status=kpi_status(achieved, expected),
    )


# --------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class Coverage:
    """Measured due KPI-periods out of all due KPI-periods (the product's headline number)."""

    measured: int
    due: int

    def __post_init__(self) -> None:
        if not 0 <= self.measured <= self.due:
            raise ValueError(f"measured ({self.measured}) must be 0 to due ({self.due})")

    @property
    def ratio(self) -> Decimal | None:
        """measured / due, half-up to 4 places; ``None`` when nothing was due."""
        if self.due == 0:
            return None
        return round_half_up(Decimal(self.measured) / self.due, 4)

    @property
    def percent(self) -> Decimal | None:
        """measured / due × 100, half-up to 2 places; ``None`` when nothing was due."""
        if self.due == 0:
            return None
        return round_half_up(Decimal(self.measured) * HUNDRED / self.due)


def measurement_coverage(due_and_measured: Iterable[bool]) -> Coverage:
    """Coverage of a list of due KPI-periods, each given as "was it measured?"."""
    flags = list(due_and_measured)
    return Coverage(measured=sum(1 for measured in flags if measured), due=len(flags))


def combine(coverages: Iterable[Coverage]) -> Coverage:
    """Portfolio coverage: the counts summed, never an average of the projects' ratios."""
    coverages = list(coverages)
    return Coverage(measured=sum(c.measured for c in coverages), due=sum(c.due for c in coverages))
