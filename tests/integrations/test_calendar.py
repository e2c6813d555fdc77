"""The calendar feed, parsed back with ``vobject`` (an iCalendar parser independent of the
``icalendar`` library that builds it)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import vobject

from crmphase import clock
from crmphase.integrations import services


def parse(response):
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = vobject.readOne(response.get_data(as_text=True))
    return {event.uid.value: event for event in calendar.contents.get("vevent", [])}


@pytest.fixture
def owner_world(db, make_user, make_program, make_project, make_kpi, make_review):
    owner = make_user("manager")
    program = make_program(measurement_grace_days=10)
    tracked = make_project(program=program, phase="execute", state="active", name="Loyalty")
    kpi = make_kpi(tracked, name="Churn", baseline_period="2026-02", owner_id=owner.id)
    managed = make_project(
        program=program,
        phase="manage",
        state="active",
        manager=owner,
        name="Retention",
        phase_entered_on=date(2026, 1, 10),
    )
    return owner, kpi, managed, tracked


def test_the_feed_holds_due_dates_grace_ends_and_reviews(client, owner_world):
    owner, kpi, managed, _ = owner_world
    with clock.frozen("2026-03-15T12:00:00+00:00"):
        feed = services.rotate_calendar_token(owner)
        events = parse(client.get(f"/calendar/{feed.token}.ics"))
    due = events[f"kpi-{kpi.id}-2026-03-due@crmphase"]
    assert due.dtstart.value == date(2026, 3, 31)  # all day: a date, no time
    assert due.dtend.value == date(2026, 4, 1)
    assert "Churn" in due.summary.value and "Loyalty" in due.summary.value
    assert events[f"kpi-{kpi.id}-2026-03-grace@crmphase"].dtstart.value == date(2026, 4, 10)
    assert f"kpi-{kpi.id}-2026-01-due@crmphase" not in events  # before the baseline
    assert f"kpi-{kpi.id}-2026-06-due@crmphase" in events  # three months ahead
    assert due.dtstamp.value == datetime(2026, 3, 15, 12, tzinfo=UTC)
    review = events[f"project-{managed.id}-review-2026-04-10@crmphase"]
    assert review.dtstart.value == date(2026, 4, 10)
    assert due.url.value.endswith(f"/projects/{kpi.project_id}")


def test_uids_stay_the_same_after_a_clock_change(client, owner_world):
    owner, kpi, _, _ = owner_world
    with clock.frozen("2026-03-15T12:00:00+00:00"):
        feed = services.rotate_calendar_token(owner)
        march = parse(client.get(f"/calendar/{feed.token}.ics"))
    with clock.frozen("2026-05-02T08:00:00+00:00"):
        may = parse(client.get(f"/calendar/{feed.token}.ics"))
    assert f"kpi-{kpi.id}-2026-08-due@crmphase" in may  # the window moved on
    assert f"kpi-{kpi.id}-2026-02-due@crmphase" not in may
    shared = set(march) & set(may)
    assert f"kpi-{kpi.id}-2026-04-due@crmphase" in shared
    for uid in shared:
        assert march[uid].dtstart.value == may[uid].dtstart.value
        assert march[uid].summary.value == may[uid].summary.value
    assert may[f"kpi-{kpi.id}-2026-04-due@crmphase"].dtstamp.value == datetime(
        2026, 5, 2, 8, tzinfo=UTC
    )


def test_gate_reviews_waiting_fall_on_the_local_day(
    client, db, make_user, make_project, make_review, monkeypatch
):
    """A review requested at 23:30 UTC on 28 March is on 29 March in Berlin (the night
    the clocks go forward): all-day events are days of the installation's timezone."""
    monkeypatch.setenv("CRMPHASE_TIMEZONE", "Europe/Berlin")
    steering = make_user("steering")
    project = make_project(phase="evaluate", state="active", name="Onboarding")
    review = make_review(project, requested_at=datetime(2026, 3, 28, 23, 30, tzinfo=UTC))
    with clock.frozen("2026-03-30T09:00:00+00:00"):
        feed = services.rotate_calendar_token(steering)
        events = parse(client.get(f"/calendar/{feed.token}.ics"))
        manager_feed = services.rotate_calendar_token(project.manager)
        managers = parse(client.get(f"/calendar/{manager_feed.token}.ics"))
    waiting = events[f"gate-review-{review.id}@crmphase"]
    assert waiting.dtstart.value == date(2026, 3, 29)
    assert "Onboarding" in waiting.summary.value
    assert f"gate-review-{review.id}@crmphase" not in managers  # they cannot decide it


def test_rotate_and_revoke(client, db, make_user):
    user = make_user("viewer")
    first = services.rotate_calendar_token(user).token
    second = services.rotate_calendar_token(user).token
    assert first != second
    assert client.get(f"/calendar/{first}.ics").status_code == 404
    assert client.get(f"/calendar/{second}.ics").status_code == 200
    services.revoke_calendar_token(user)
    assert client.get(f"/calendar/{second}.ics").status_code == 404
    assert client.get("/calendar/not-a-token.ics").status_code == 404


def test_the_account_page_manages_the_address(page_client, make_user):
    user = make_user("steering")
    client = page_client(user)
    assert b"Create my calendar address" in client.get("/account/calendar").data
    assert client.post("/account/calendar").status_code == 302
    page = client.get("/account/calendar").get_data(as_text=True)
    assert "/calendar/" in page and ".ics" in page
    assert client.post("/account/calendar/revoke").status_code == 302
    assert services.feed_of(user) is None
