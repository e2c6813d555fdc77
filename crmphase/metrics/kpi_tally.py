"""The KPI tally of a snapshot: how many of its KPIs are on track, at risk, off track and
without data, and the least attainment among the off-track ones.

Every snapshot stores its tally next to its ``kpi_details`` (migration 0004), so the
dashboard sums four columns instead of decoding every snapshot's JSON, and finds the least
attained off-track KPIs of a portfolio by reading the few snapshots that hold them.

Pure: plain values in, plain values out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from crmphase.money import to_decimal

KPI_STATUSES = ("on_track", "at_risk", "off_track", "no_data")
UNRANKED = Decimal("Infinity")


def kpi_entries(details) -> list[dict]:
    """The per-KPI dicts of a snapshot's ``kpi_details``, ignoring anything malformed."""
    if not isinstance(details, list):
        return []
    return [kpi for kpi in details if isinstance(kpi, dict)]


def entry_status(kpi: dict) -> str:
    """The status of one KPI entry; an unknown or missing status counts as no data."""
    status = kpi.get("status")
    return status if status in KPI_STATUSES else "no_data"


def attainment_rank(text) -> Decimal:
    """An entry's attainment as a number to sort by; without one it sorts last."""
    value = to_decimal(text)
    return UNRANKED if value is None else value


@dataclass(frozen=True)
class KpiTally:
    on_track: int = 0
    at_risk: int = 0
    off_track: int = 0
    no_data: int = 0
    # The least attainment among the off-track KPIs; None when none has one.
    least_off_track_attainment: Decimal | None = None

    def counts(self) -> dict[str, int]:
        return {status: getattr(self, status) for status in KPI_STATUSES}


def tally_kpis(details) -> KpiTally:
    """The tally of one snapshot's ``kpi_details``."""
    counts: Counter[str] = Counter()
    least = UNRANKED
    for kpi in kpi_entries(details):
        status = entry_status(kpi)
        counts[status] += 1
        if status == "off_track":
            least = min(least, attainment_rank(kpi.get("attainment")))
    return KpiTally(
        **{status: counts[status] for status in KPI_STATUSES},
        least_off_track_attainment=None if least == UNRANKED else least,
    )


def kpi_status_counts(details_lists: Iterable[list | None]) -> dict[str, int]:
    """The KPI status counts over many snapshots' ``kpi_details``."""
    total: Counter[str] = Counter()
    for details in details_lists:
        total.update(tally_kpis(details).counts())
    return {status: total[status] for status in KPI_STATUSES}
