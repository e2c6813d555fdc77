"""The job table's schedule arithmetic: which period is due when (no app, no database)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from crmphase import clock
from crmphase.errors import NotFound, ValidationFailed
from crmphase.jobs.registry import get_job
from crmphase.periods import Period

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "due"),
    [
        ("2026-03-01T01:59:59", "2026-01"),  # the 1st, but before 02:00: February not yet
        ("2026-03-01T02:00:00", "2026-02"),  # month boundary: the month just ended
        ("2026-03-31T23:59:00", "2026-02"),
        ("2027-01-01T01:00:00", "2026-11"),  # year boundary, before the hour
        ("2027-01-01T02:00:00", "2026-12"),  # year boundary: December of the year before
    ],
)
def test_roi_snapshot_latest_due_at_month_and_year_boundaries(now, due):
    assert get_job("roi_snapshot").latest_due(at(now), UTC_ZONE) == due


def test_the_schedule_follows_the_configured_timezone():
    job = get_job("roi_snapshot")
    # 02:00 in Berlin on 1 March is 01:00 UTC.
    assert job.latest_due(at("2026-03-01T00:59:00"), BERLIN) == "2026-01"
    assert job.latest_due(at("2026-03-01T01:00:00"), BERLIN) == "2026-02"
    assert job.fire_time("2026-02", BERLIN) == datetime(2026, 3, 1, 2, 0, tzinfo=BERLIN)


def test_review_export_fires_an_hour_after_the_snapshot():
    job = get_job("monthly_review_export")
    assert job.requires == ("roi_snapshot",)
    assert job.latest_due(at("2026-03-01T02:30:00"), UTC_ZONE) == "2026-01"
    assert job.latest_due(at("2026-03-01T03:00:00"), UTC_ZONE) == "2026-02"


@pytest.mark.parametrize(
    ("now", "due"),
    [
        ("2026-03-14T05:59:00", "2026-03-13"),
        ("2026-03-14T06:00:00", "2026-03-14"),
        ("2027-01-01T05:00:00", "2026-12-31"),
    ],
)
def test_measurement_check_is_daily_at_six(now, due):
    assert get_job("measurement_check").latest_due(at(now), UTC_ZONE) == due


def test_catch_up_lists_missed_months_oldest_first_and_not_before_the_first_project():
    job = get_job("roi_snapshot")
    now = at("2026-04-01T02:00:00")
    assert job.due_keys(now, UTC_ZONE, Period(2025, 12)) == [
        "2025-12",
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    assert job.due_keys(now, UTC_ZONE, Period(2026, 2)) == ["2026-02", "2026-03"]


def test_catch_up_is_bounded():
    snapshot = get_job("roi_snapshot")
    keys = snapshot.due_keys(at("2026-04-01T02:00:00"), UTC_ZONE, Period(2000, 1))
    assert len(keys) == 24 and keys[0] == "2024-04" and keys[-1] == "2026-03"
    review = get_job("monthly_review_export")
    assert review.due_keys(at("2026-04-01T03:00:00"), UTC_ZONE, Period(2000, 1)) == [
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    daily = get_job("measurement_check")
    assert daily.due_keys(at("2026-04-05T07:00:00"), UTC_ZONE, None) == ["2026-04-05"]


def test_manual_periods_are_validated_with_readable_reasons():
    snapshot = get_job("roi_snapshot")
    daily = get_job("measurement_check")
    with clock.frozen("2026-03-10T12:00:00"):
        assert snapshot.parse_period(None) == "2026-02"
        assert snapshot.parse_period(" 2025-12 ") == "2025-12"
        assert daily.parse_period("") == "2026-03-10"
        assert daily.parse_period("2026-03-09") == "2026-03-09"
        cases = [
            (snapshot, "2026-03", "has not ended yet"),
            (snapshot, "2026-13", "month must be 01 to 12"),
            (snapshot, "March", "write YYYY-MM"),
            (daily, "2026-03", "runs daily"),
            (daily, "2026-02-30", "not a day of the calendar"),
            (daily, "2026-03-11", "in the future"),
        ]
        for job, text, reason in cases:
            with pytest.raises(ValidationFailed) as caught:
                job.parse_period(text)
            assert caught.value.errors[0].field == "period"
            assert reason in caught.value.errors[0].message, text


def test_unknown_job_is_not_found():
    with pytest.raises(NotFound, match="roi_snapshot"):
        get_job("nope")
