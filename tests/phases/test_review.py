"""The periodic review in manage: due every 3 months, overdue the day after."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmphase.phases.rules import (
    REVIEW_EVERY_MONTHS,
    Phase,
    ProjectState,
    next_review_due,
    review_overdue,
)


def test_reviews_are_quarterly():
    assert REVIEW_EVERY_MONTHS == 3


@pytest.mark.parametrize(
    ("last", "due"),
    [
        (date(2026, 1, 15), date(2026, 4, 15)),
        (date(2026, 10, 1), date(2027, 1, 1)),
        (date(2026, 3, 31), date(2026, 6, 30)),
        (date(2026, 8, 31), date(2026, 11, 30)),
        (date(2025, 11, 30), date(2026, 2, 28)),
        (date(2027, 11, 29), date(2028, 2, 29)),
        (date(2027, 11, 30), date(2028, 2, 29)),
        (date(2026, 12, 31), date(2027, 3, 31)),
    ],
)
def test_next_review_due_is_the_same_day_three_months_later_clamped(last, due):
    assert next_review_due(last) == due


@pytest.mark.parametrize(
    ("today", "overdue"),
    [
        (date(2026, 4, 14), False),
        (date(2026, 4, 15), False),  # due today, not yet overdue
        (date(2026, 4, 16), True),
        (date(2027, 1, 1), True),
    ],
)
def test_review_overdue_around_the_three_month_boundary(today, overdue):
    assert review_overdue(Phase.MANAGE, ProjectState.ACTIVE, date(2026, 1, 15), today) is overdue


@pytest.mark.parametrize(
    ("today", "overdue"),
    [(date(2026, 11, 30), False), (date(2026, 12, 1), True)],
)
def test_review_overdue_after_a_clamped_month_end(today, overdue):
    assert review_overdue(Phase.MANAGE, ProjectState.ACTIVE, date(2026, 8, 31), today) is overdue


@pytest.mark.parametrize("phase", [Phase.STRATEGIZE, Phase.EVALUATE, Phase.EXECUTE])
def test_only_manage_has_a_periodic_review(phase):
    assert not review_overdue(phase, ProjectState.ACTIVE, date(2020, 1, 1), date(2026, 1, 1))


@pytest.mark.parametrize("state", [ProjectState.ON_HOLD, ProjectState.KILLED, ProjectState.RETIRED])
def test_only_active_projects_are_overdue(state):
    assert not review_overdue(Phase.MANAGE, state, date(2020, 1, 1), date(2026, 1, 1))


def test_without_a_date_nothing_is_overdue():
    assert not review_overdue(Phase.MANAGE, ProjectState.ACTIVE, None, date(2026, 1, 1))


@given(st.dates(date(2000, 1, 1), date(2090, 12, 31)))
def test_review_due_between_89_and_92_days_later(last):
    due = next_review_due(last)
    assert 89 <= (due - last).days <= 92
    assert not review_overdue(Phase.MANAGE, ProjectState.ACTIVE, last, due)
    assert review_overdue(Phase.MANAGE, ProjectState.ACTIVE, last, due + timedelta(days=1))
