"""Mail delivery to a real local SMTP server (aiosmtpd), and what happens without one."""

import socket
from datetime import UTC, datetime

import sqlalchemy as sa

from crmphase import clock
from crmphase.jobs.services import run_job
from crmphase.notifications.models import Notification
from crmphase.notifications.services import Draft, deliver_pending, queue


def all_notes(db):
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Notification).order_by(Notification.id)))


def test_missing_measurement_mails_arrive(db, smtp_server, tracked_project, make_kpi):
    project = tracked_project(name="Campaign management")
    make_kpi(project, name="Response rate")
    with clock.frozen("2026-02-11T06:00:00"):
        result = run_job("measurement_check", "2026-02-11", trigger="schedule")
    assert result.succeeded
    received = {rcpt[0]: message for rcpt, message in smtp_server.messages}
    assert set(received) == {project.manager.email, project.program.crmo.email}
    message = received[project.manager.email]
    assert message["Subject"] == "Missing measurement: Campaign management (2026-01)"
    assert message["From"] == "crmphase@example.com"
    assert "No value of 'Response rate' for 2026-01" in message.get_content()
    notes = all_notes(db)
    assert {n.delivery for n in notes} == {"sent"}
    assert all(n.sent_at == datetime(2026, 2, 11, 6, 0, tzinfo=UTC) for n in notes)


def test_the_monthly_review_arrives_with_the_spreadsheet(
    db, smtp_server, tracked_project, make_user
):
    steering = make_user("steering")
    project = tracked_project()
    project.program.steering_members = [steering]
    db.session.commit()
    with clock.frozen("2026-03-01T03:00:00"):
        assert run_job("roi_snapshot", "2026-02", trigger="schedule").succeeded
        result = run_job("monthly_review_export", "2026-02", trigger="schedule")
    assert result.succeeded, result.run.error
    received = {rcpt[0]: message for rcpt, message in smtp_server.messages}
    assert steering.email in received and project.program.crmo.email in received
    message = received[steering.email]
    assert message["Subject"] == "Monthly ROI review 2026-02"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename().endswith(".xlsx")
    assert attachment.get_content_type().endswith("spreadsheetml.sheet")
    assert attachment.get_content()[:2] == b"PK"  # an xlsx is a zip
    with clock.frozen("2026-03-05T10:00:00"):
        again = run_job("monthly_review_export", "2026-02", trigger="schedule")
        corrected = run_job("monthly_review_export", "2026-02", trigger="manual")
    assert not again.ran  # the schedule never sends a review twice
    assert corrected.succeeded  # a rerun after a correction sends the corrected review
    to_steering = [m for rcpt, m in smtp_server.messages if rcpt == [steering.email]]
    assert len(to_steering) == 2


def test_without_smtp_notifications_are_only_listed(db, make_user):
    user = make_user("manager")
    queue([Draft(user, "Hello", "Body", "kpi_due", None, "k:1")])
    db.session.commit()
    assert deliver_pending() == {"sent": 0, "failed": 0, "pending": 0}
    (note,) = all_notes(db)
    assert note.delivery == "not_configured" and note.sent_at is None


def test_the_same_dedupe_key_is_queued_once(db, make_user):
    user = make_user("manager")
    draft = Draft(user, "Hello", "Body", "kpi_due", None, "k:same")
    assert len(queue([draft, draft])) == 1
    db.session.commit()
    assert queue([draft]) == []
    assert len(all_notes(db)) == 1


def test_an_unreachable_server_leaves_mail_pending_for_the_next_tick(
    app, db, make_user, smtp_server
):
    user = make_user("manager")
    queue([Draft(user, "Hello", "Body", "kpi_due", None, "k:2")])
    db.session.commit()
    port = app.config["MAIL_SMTP_PORT"]
    with socket.socket() as probe:  # a port where nobody listens
        probe.bind(("127.0.0.1", 0))
        app.config["MAIL_SMTP_PORT"] = probe.getsockname()[1]
    try:
        counts = deliver_pending()
    finally:
        app.config["MAIL_SMTP_PORT"] = port
    assert counts["pending"] == 1 and counts["sent"] == 0
    (note,) = all_notes(db)
    assert note.delivery == "pending" and note.sent_at is None
    assert note.error.startswith("not sent yet:")
    assert deliver_pending()["sent"] == 1  # the server is back
    (note,) = all_notes(db)
    assert note.delivery == "sent" and note.error == ""
    assert [rcpt for rcpt, _ in smtp_server.messages] == [[user.email]]


def test_a_refused_recipient_fails_that_notification_only(db, make_user, smtp_server):
    good, bad = make_user("manager"), make_user("manager")
    smtp_server.refuse.add(bad.email)
    queue(
        [
            Draft(bad, "Hello", "Body", "kpi_due", None, "k:bad"),
            Draft(good, "Hello", "Body", "kpi_due", None, "k:good"),
        ]
    )
    db.session.commit()
    assert deliver_pending() == {"sent": 1, "failed": 1, "pending": 0}
    outcomes = {n.recipient_id: (n.delivery, n.error) for n in all_notes(db)}
    assert outcomes[good.id] == ("sent", "")
    assert outcomes[bad.id][0] == "failed" and "no such mailbox" in outcomes[bad.id][1]


def test_an_inactive_user_gets_no_notification(db, make_user):
    gone = make_user("manager", active=False)
    assert queue([Draft(gone, "Hello", "Body", "kpi_due", None, "k:3")]) == []
