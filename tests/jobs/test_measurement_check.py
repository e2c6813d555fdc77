"""The measurement_check job: alerts open and resolve, reminders go out once each."""

from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from crmphase import clock
from crmphase.jobs.services import run_job
from crmphase.metrics.models import Alert
from crmphase.notifications.models import Notification


def check(day: str):
    with clock.frozen(f"{day}T06:00:00"):
        result = run_job("measurement_check", day, trigger="schedule")
    assert result.ran and result.succeeded, result.run.error
    return result


def alerts(db, kind=None, open_only=True):
    query = sa.select(Alert).order_by(Alert.id)
    if kind:
        query = query.where(Alert.kind == kind)
    if open_only:
        query = query.where(Alert.resolved_at.is_(None))
    return list(db.session.scalars(query))


def notes(db, prefix=""):
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.dedupe_key.startswith(prefix))
            .order_by(Notification.id)
        )
    )


def test_missing_only_after_the_grace_days_then_resolved_when_the_value_arrives(
    db, tracked_project, make_kpi, make_measurement
):
    project = tracked_project()
    kpi = make_kpi(project)  # monthly from 2026-01; the program's grace is 10 days
    check("2026-02-10")  # January's grace ends on 10 February
    assert alerts(db, "missing_measurement") == []
    check("2026-02-11")
    (alert,) = alerts(db, "missing_measurement")
    assert (alert.project_id, alert.kpi_id, alert.period, alert.subject_key) == (
        project.id,
        kpi.id,
        "2026-01",
        f"kpi:{kpi.id}",
    )
    assert "grace ended on 2026-02-10" in alert.detail
    make_measurement(kpi, "2026-01", 5)
    check("2026-02-12")
    assert alerts(db, "missing_measurement") == []
    (resolved,) = alerts(db, "missing_measurement", open_only=False)
    assert resolved.resolved_at == datetime(2026, 2, 12, 6, 0, tzinfo=UTC)


def test_missing_measurement_tells_manager_and_crmo_once(db, tracked_project, make_kpi):
    project = tracked_project()
    make_kpi(project)
    check("2026-02-11")
    check("2026-02-12")  # the next day: the same alert, no new mail
    missing = notes(db, "alert:")
    assert {n.recipient_id for n in missing} == {project.manager_id, project.program.crmo_id}
    assert len(missing) == 2
    assert all(n.delivery == "not_configured" for n in missing)  # no SMTP: listed in the app
    assert "Missing measurement" in missing[0].subject


def test_kpi_owner_is_reminded_at_period_end_and_before_grace_ends(
    db, tracked_project, make_kpi, make_user
):
    owner = make_user("manager")
    project = tracked_project()
    kpi = make_kpi(project, owner_id=owner.id)
    check("2026-01-30")
    assert notes(db, "kpi_") == []
    check("2026-01-31")  # the last day of January: the value falls due
    (due,) = notes(db, "kpi_due:")
    assert due.recipient_id == owner.id and due.dedupe_key == f"kpi_due:{kpi.id}:2026-01"
    assert "record it by 2026-02-10" in due.body
    check("2026-02-06")
    assert notes(db, "kpi_grace:") == []
    check("2026-02-07")  # three days before the grace ends
    check("2026-02-08")
    (grace,) = notes(db, "kpi_grace:")
    assert grace.recipient_id == owner.id and "2026-02-10" in grace.subject
    assert len(notes(db, "kpi_due:")) == 1  # never twice


def test_quarterly_kpi_is_due_only_at_quarter_end(db, tracked_project, make_kpi):
    project = tracked_project()
    kpi = make_kpi(project, cadence="quarterly")
    check("2026-02-28")
    assert notes(db, "kpi_due:") == []
    check("2026-03-31")
    assert [n.dedupe_key for n in notes(db, "kpi_due:")] == [f"kpi_due:{kpi.id}:2026-03"]
    check("2026-04-11")
    assert [a.period for a in alerts(db, "missing_measurement")] == ["2026-03"]


def test_missing_alerts_across_the_year_boundary(db, tracked_project, make_kpi):
    project = tracked_project(since=date(2025, 11, 1))
    make_kpi(project, baseline_period="2025-11")
    check("2026-01-10")  # December's grace ends on 10 January
    assert [a.period for a in alerts(db, "missing_measurement")] == ["2025-11"]
    check("2026-01-11")
    assert [a.period for a in alerts(db, "missing_measurement")] == ["2025-11", "2025-12"]


def test_longer_grace_days_of_the_program_are_respected(db, tracked_project, make_kpi):
    project = tracked_project()
    project.program.measurement_grace_days = 20
    db.session.commit()
    make_kpi(project)
    check("2026-02-20")
    assert alerts(db, "missing_measurement") == []
    check("2026-02-21")
    assert len(alerts(db, "missing_measurement")) == 1


def test_off_track_kpi_opens_an_alert(db, tracked_project, make_kpi, make_measurement):
    project = tracked_project()
    kpi = make_kpi(project)  # 0 → 100 from 2026-01 to 2026-11: 10 % expected by February
    make_measurement(kpi, "2026-01", 0)
    make_measurement(kpi, "2026-02", 1)  # 1 % attained: below 0.6 × expected
    check("2026-03-02")
    (alert,) = alerts(db, "off_track")
    assert alert.period == "2026-02" and alert.kpi_id == kpi.id
    make_measurement(kpi, "2026-03", 30)  # back on track in March
    check("2026-04-02")
    assert alerts(db, "off_track") == []


def test_budget_overrun_opens_and_resolves(db, tracked_project, make_cost):
    project = tracked_project(budget=Decimal("1000.00"))
    make_cost(project, "2026-02", "1000.00")
    check("2026-02-15")
    assert alerts(db, "budget_overrun") == []  # at budget is not over it
    make_cost(project, "2026-02", "0.01")
    check("2026-02-16")
    (alert,) = alerts(db, "budget_overrun")
    assert alert.period == "2026-02" and "1,000.01" in alert.detail
    check("2026-03-16")  # still over: the same alert stays open
    assert [a.id for a in alerts(db, "budget_overrun")] == [alert.id]
    project.budget = Decimal("2000.00")
    db.session.commit()
    check("2026-03-17")
    assert alerts(db, "budget_overrun") == []


def test_manage_review_overdue_opens_gate_overdue(db, tracked_project, make_user):
    steering = make_user("steering")
    project = tracked_project(phase="manage", since=date(2025, 10, 1))  # review due 2026-01-01
    project.program.steering_members = [steering]
    db.session.commit()
    check("2026-01-01")
    assert alerts(db, "gate_overdue") == []
    check("2026-01-02")
    (alert,) = alerts(db, "gate_overdue")
    assert alert.subject_key == "review:manage" and alert.period == "2026-01"
    recipients = {n.recipient_id for n in notes(db, f"alert:{alert.id}:")}
    assert recipients == {project.manager_id, steering.id}
    project.last_review_on = date(2026, 1, 5)
    db.session.commit()
    check("2026-01-06")
    assert alerts(db, "gate_overdue") == []


def test_waiting_gate_review_reminds_steering_and_becomes_overdue_after_14_days(
    db, tracked_project, make_user, make_review
):
    steering = make_user("steering")
    project = tracked_project(phase="evaluate")
    project.program.steering_members = [steering]
    review = make_review(project, requested_at=datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    check("2026-01-02")
    assert [n.dedupe_key for n in notes(db, "review")] == [f"review:{review.id}:{steering.id}"]
    check("2026-01-15")
    assert alerts(db, "gate_overdue") == []
    check("2026-01-16")
    (alert,) = alerts(db, "gate_overdue")
    assert alert.subject_key == f"gate_review:{review.id}"
    assert f"review_overdue:{review.id}:{steering.id}" in {n.dedupe_key for n in notes(db)}
    review.status = "decided"
    db.session.commit()
    check("2026-01-17")
    assert alerts(db, "gate_overdue") == []


def test_alerts_of_a_killed_project_are_resolved(db, tracked_project, make_kpi):
    project = tracked_project()
    make_kpi(project)
    check("2026-02-11")
    assert len(alerts(db)) == 1
    project.state = "killed"
    db.session.commit()
    check("2026-02-12")
    assert alerts(db) == []


def test_running_the_same_day_twice_changes_nothing(db, tracked_project, make_kpi):
    project = tracked_project()
    make_kpi(project)
    first_rows = check("2026-02-11").run.rows_written
    before = (len(alerts(db, open_only=False)), len(notes(db)))
    with clock.frozen("2026-02-11T07:00:00"):
        second = run_job("measurement_check", "2026-02-11", trigger="schedule")
        rerun = run_job("measurement_check", "2026-02-11", trigger="manual")
    assert first_rows == 3  # one alert, two notifications
    assert not second.ran
    assert rerun.ran and rerun.run.rows_written == 0
    assert (len(alerts(db, open_only=False)), len(notes(db))) == before
