"""Tracked periods and due/missing KPI-periods (SPEC §4), on plain values."""

from datetime import date

import pytest

from crmphase.metrics.roi import Cadence
from crmphase.metrics.rules import (
    KpiSchedule,
    PositionChange,
    coverage_of,
    due_kpi_periods,
    position_history,
    tracked_periods,
)
from crmphase.periods import Period

P = Period.parse


def test_tracked_only_while_active_in_execute_or_manage():
    changes = [
        PositionChange(date(2026, 1, 10), "strategize", "active"),
        PositionChange(date(2026, 3, 15), "execute", "active"),
        PositionChange(date(2026, 5, 2), "execute", "on_hold"),
        PositionChange(date(2026, 7, 1), "manage", "active"),
    ]
    tracked = tracked_periods(changes, P("2026-08"))
    assert sorted(map(str, tracked)) == [
        "2026-03",
        "2026-04",
        "2026-05",
        "2026-07",
        "2026-08",
    ]


def test_same_day_changes_track_nothing_for_the_empty_interval():
    changes = [
        PositionChange(date(2026, 2, 1), "execute", "active"),
        PositionChange(date(2026, 2, 1), "execute", "killed"),
    ]
    assert tracked_periods(changes, P("2026-06")) == frozenset()


def test_position_history_without_decisions_uses_current_position():
    history = position_history(date(2026, 5, 1), date(2025, 1, 1), "execute", "active", [])
    assert history == [PositionChange(date(2025, 1, 1), "execute", "active")]


def test_position_history_with_decisions_starts_in_strategize():
    decision = PositionChange(date(2026, 2, 1), "evaluate", "active")
    history = position_history(date(2026, 1, 1), date(2026, 2, 1), "evaluate", "active", [decision])
    assert history[0] == PositionChange(date(2026, 1, 1), "strategize", "active")


@pytest.mark.parametrize(
    ("today", "missing"),
    [
        (date(2026, 2, 10), []),  # January's grace (10 days) ends on 10 February
        (date(2026, 2, 11), ["2026-01"]),
        (date(2026, 3, 11), ["2026-01", "2026-02"]),
    ],
)
def test_missing_after_grace_days(today, missing):
    kpi = KpiSchedule(1, 1, P("2026-01"), Cadence.MONTHLY)
    result = due_kpi_periods(
        kpi, lambda p: True, set(), first=None, through=Period.of(today), today=today, grace_days=10
    )
    assert [str(kp.period) for kp in result if kp.missing] == missing


def test_quarterly_due_only_at_quarter_ends_and_coverage_counts_due_periods():
    kpi = KpiSchedule(1, 1, P("2025-11"), Cadence.QUARTERLY)
    result = due_kpi_periods(
        kpi,
        lambda p: True,
        {P("2025-12")},
        first=None,
        through=P("2026-07"),
        today=date(2026, 8, 20),
        grace_days=10,
    )
    assert [str(kp.period) for kp in result] == ["2025-12", "2026-03", "2026-06"]
    coverage = coverage_of(result)
    assert (coverage.measured, coverage.due) == (1, 3)
    assert coverage_of(result, P("2025-12")).ratio == 1


def test_not_due_before_baseline_or_when_untracked_or_without_baseline():
    kpi = KpiSchedule(1, 1, P("2026-03"), Cadence.MONTHLY)
    tracked = {P("2026-02"), P("2026-03")}.__contains__
    result = due_kpi_periods(
        kpi, tracked, set(), first=None, through=P("2026-05"), today=date(2026, 6, 30), grace_days=0
    )
    assert [str(kp.period) for kp in result] == ["2026-03"]
    no_baseline = KpiSchedule(2, 1, None, Cadence.MONTHLY)
    assert (
        due_kpi_periods(
            no_baseline,
            tracked,
            set(),
            first=None,
            through=P("2026-05"),
            today=date(2026, 6, 30),
            grace_days=0,
        )
        == []
    )
