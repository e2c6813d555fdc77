"""What the portfolio totals must be, summed in Python from snapshot objects: the account
the tests hold the SQL sums (stored and over snapshots) to."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from crmphase.metrics.roi import Coverage
from crmphase.metrics.rules import MoneyTotals, Totals
from crmphase.money import summed_money
from crmphase.periods import Period


def totals_from_snapshots(period: Period, snapshots: Iterable[Any]) -> Totals:
    """The totals of the snapshots of ``period`` among ``snapshots``, summed in Python."""
    rows = [s for s in snapshots if s.period == str(period)]

    def total(name: str) -> Decimal:
        return summed_money(sum((getattr(s, name) for s in rows), Decimal("0.00")))

    return Totals(
        period=period,
        projects=len(rows),
        measured_projects=sum(1 for s in rows if s.measured),
        actual=MoneyTotals(
            total("actual_cumulative_cost"),
            total("actual_cumulative_benefit"),
            total("actual_net_benefit"),
            total("actual_npv"),
        ),
        plan=MoneyTotals(
            total("plan_cumulative_cost"),
            total("plan_cumulative_benefit"),
            total("plan_net_benefit"),
            total("plan_npv"),
        ),
        coverage=Coverage(
            measured=sum(s.measured_count for s in rows), due=sum(s.due_count for s in rows)
        ),
    )
