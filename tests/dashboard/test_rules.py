"""The dashboard's pure rules: filters and the periodic-review cut-off."""

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmphase.dashboard.rules import (
    DashboardFilters,
    age_in_days,
    parse_filters,
    review_overdue_cutoff,
)
from crmphase.periods import Period
from crmphase.phases.rules import Phase, ProjectState, review_overdue

DEFAULT = Period(2026, 10)


def test_filters_default_to_the_given_period():
    parsed = parse_filters({}, default_period=DEFAULT)
    assert parsed.filters == DashboardFilters(DEFAULT, None, None)
    assert parsed.errors == []


def test_filters_read_period_program_and_department():
    parsed = parse_filters(
        {"period": "2026-03", "program_id": "7", "department": "sales"},
        default_period=DEFAULT,
        program_ids=[7, 8],
    )
    assert parsed.filters == DashboardFilters(Period(2026, 3), 7, "sales")
    assert parsed.errors == []


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        ({"period": "2026-13"}, "period", "month must be 01 to 12"),
        ({"period": "March"}, "period", "write YYYY-MM"),
        ({"program_id": "x1"}, "program_id", "is not a program id"),
        ({"program_id": "99"}, "program_id", "there is no program 99"),
        ({"department": "finance"}, "department", "is not one of"),
    ],
)
def test_bad_filters_are_reported_by_field_and_fall_back_to_defaults(args, field, message):
    parsed = parse_filters(args, default_period=DEFAULT, program_ids=[1])
    assert [e.field for e in parsed.errors] == [field]
    assert message in parsed.errors[0].message
    assert parsed.filters == DashboardFilters(DEFAULT, None, None)


def test_query_args_round_trip_through_parse():
    filters = DashboardFilters(Period(2025, 12), 3, "it")
    args = {k: str(v) for k, v in filters.query_args().items()}
    assert parse_filters(args, default_period=DEFAULT).filters == filters
    assert filters.project_list_args(phase="manage", state=None) == {
        "program_id": 3,
        "department": "it",
        "phase": "manage",
    }


@pytest.mark.parametrize(
    ("today", "cutoff"),
    [
        (date(2026, 11, 15), date(2026, 8, 14)),  # due 2026-11-14, overdue from the 15th
        (date(2026, 5, 31), date(2026, 2, 28)),  # 2026-02-28 + 3 months = 2026-05-28
        (date(2026, 3, 1), date(2025, 11, 30)),  # 2025-11-30 + 3 = 2026-02-28
    ],
)
def test_review_cutoff_examples(today, cutoff):
    assert review_overdue_cutoff(today) == cutoff


@given(
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    back=st.integers(min_value=0, max_value=400),
)
def test_review_cutoff_agrees_with_the_rule(today, back):
    """Overdue exactly when the last review day is on or before the cut-off."""
    day = today - timedelta(days=back)
    expected = review_overdue(Phase.MANAGE, ProjectState.ACTIVE, day, today)
    assert (day <= review_overdue_cutoff(today)) == expected


def test_age_in_days():
    assert age_in_days(datetime(2026, 11, 1, 23, 59), date(2026, 11, 15)) == 14
    assert age_in_days(date(2026, 11, 15), date(2026, 11, 15)) == 0
    assert age_in_days(date(2026, 11, 16), date(2026, 11, 15)) == 0
