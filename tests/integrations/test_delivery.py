"""Webhook delivery against a real loopback receiver, verified with ``standardwebhooks``."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook as Verifier

from crmphase import clock
from crmphase.integrations import services
from crmphase.integrations.models import Delivery, Webhook
from crmphase.integrations.rules import MAX_ATTEMPTS
from crmphase.jobs.scheduler import SchedulerService
from crmphase.notifications.models import Notification


def emit(db, event_type="gate.decided", data=None, **kwargs):
    services.emit_event(event_type, data or {"project_id": 1}, **kwargs)
    db.session.commit()


def test_an_event_arrives_signed_and_verifiable(db, receiver, make_webhook):
    webhook = make_webhook(receiver.url, ["gate.decided"])
    emit(db, "gate.decided", {"project_id": 7, "decision": "go"})
    emit(db, "alert.opened")  # not wanted by this endpoint
    assert services.deliver_due()["delivered"] == 1
    (post,) = receiver.posts
    body = Verifier(webhook.secret).verify(post.body, post.headers)
    assert body["type"] == "gate.decided"
    assert body["data"] == {"project_id": 7, "decision": "go"}
    assert post.headers["webhook-id"].startswith("msg_")
    assert post.headers["webhook-signature"].startswith("v1,")
    assert services.deliver_due()["delivered"] == 0  # nothing twice


def test_nothing_is_posted_in_the_emitting_transaction(db, receiver, make_webhook):
    make_webhook(receiver.url)
    emit(db)
    assert receiver.posts == []
    assert db.session.scalar(sa.select(Delivery.state)) == "pending"


def test_a_500_is_a_recorded_attempt_retried_with_back_off(db, receiver, make_webhook, api):
    webhook = make_webhook(receiver.url)
    receiver.status = 500
    emit(db)
    now = clock.now()
    assert services.deliver_due(now)["retrying"] == 1
    delivery = db.session.scalar(sa.select(Delivery))
    assert delivery.state == "pending" and delivery.attempts == 1
    assert delivery.next_attempt_at == now + timedelta(seconds=5)
    assert services.deliver_due(now)["delivered"] == 0  # not due yet

    listed = api("crmo").get(f"/api/v1/webhooks/{webhook.id}/deliveries")
    assert listed.status_code == 200
    (item,) = listed.json["items"]
    (attempt,) = item["attempt_log"]
    assert attempt["status_code"] == 500
    assert attempt["response_excerpt"] == "receiver broke"
    assert attempt["duration_ms"] >= 0 and attempt["succeeded"] is False

    receiver.status = 200
    assert services.deliver_due(now + timedelta(seconds=6))["delivered"] == 1
    assert len(receiver.posts) == 2
    assert receiver.posts[0].headers["webhook-id"] == receiver.posts[1].headers["webhook-id"]


def test_a_hanging_receiver_times_out_and_the_drain_goes_on(
    db, receiver, make_webhook, monkeypatch
):
    monkeypatch.setenv("CRMPHASE_WEBHOOK_TIMEOUT_SECONDS", "0.5")
    make_webhook(receiver.url)
    receiver.hang = 2
    for _ in range(3):
        emit(db)
    counts = services.deliver_due()
    assert counts == {"delivered": 0, "retrying": 1, "failed": 0, "skipped": 2}
    attempt = db.session.scalar(sa.select(Delivery).order_by(Delivery.id)).attempt_log[0]
    assert attempt.status_code is None and "timed out" in attempt.error


def test_after_a_day_of_failures_the_endpoint_is_failing_and_the_crmo_told(
    db, receiver, make_webhook, make_user
):
    crmo = make_user("crmo")
    webhook = make_webhook(receiver.url)
    receiver.status = 503
    emit(db)
    at = clock.now()
    for _ in range(MAX_ATTEMPTS):
        services.deliver_due(at)
        at += timedelta(hours=11)
    delivery = db.session.scalar(sa.select(Delivery))
    assert delivery.state == "failed" and delivery.attempts == MAX_ATTEMPTS
    assert len(receiver.posts) == MAX_ATTEMPTS
    db.session.refresh(webhook)
    assert webhook.state == "failing"
    (note,) = db.session.scalars(
        sa.select(Notification).where(Notification.reason_type == "webhook")
    )
    assert note.recipient_id == crmo.id and webhook.url in note.subject

    receiver.status = 204
    emit(db)  # a failing endpoint still gets new events; one success clears the state
    assert services.deliver_due(at)["delivered"] == 1
    db.session.refresh(webhook)
    assert webhook.state == "active" and webhook.failing_since is None


def test_redeliver_posts_the_same_webhook_id_again(db, receiver, make_webhook, api):
    webhook = make_webhook(receiver.url)
    emit(db)
    services.deliver_due()
    delivery = db.session.scalar(sa.select(Delivery))
    answer = api("crmo").post(f"/api/v1/webhooks/{webhook.id}/deliveries/{delivery.id}/redeliver")
    assert answer.status_code == 202 and answer.json["state"] == "pending"
    services.deliver_due()
    assert [p.headers["webhook-id"] for p in receiver.posts] == [delivery.message_id] * 2
    assert (
        api("crmo").post(f"/api/v1/webhooks/{webhook.id}/deliveries/999999/redeliver").status_code
        == 404
    )


def test_an_outage_of_the_receiver_loses_nothing(db, receiver, make_webhook):
    """Stop the receiver, make events, start it: every event arrives exactly once per
    webhook-id (as a receiver that deduplicates by id counts them)."""
    webhook = make_webhook(receiver.url)
    emit(db, data={"n": 0})
    services.deliver_due()
    receiver.stop()
    for n in range(1, 8):
        emit(db, data={"n": n})
    at = clock.now()
    services.deliver_due(at)  # refused connections: recorded, retried later
    services.deliver_due(at + timedelta(seconds=6))
    receiver.start()
    for step in range(1, 12):
        services.deliver_due(at + timedelta(minutes=6 * step))
    states = db.session.scalars(sa.select(Delivery.state)).all()
    assert states == ["delivered"] * 8
    seen: dict[str, int] = {}
    for post in receiver.posts:
        body = Verifier(webhook.secret).verify(post.body, post.headers)
        seen[post.headers["webhook-id"]] = body["data"]["n"]
    assert sorted(seen.values()) == list(range(8))
    assert len(receiver.posts) == len(seen) == 8  # refused attempts never reached it


def test_drain_once_from_the_cli_records_a_run(db, receiver, make_webhook, runner):
    make_webhook(receiver.url)
    emit(db)
    result = runner.invoke(args=["jobs", "run", "webhook_delivery"])
    assert result.exit_code == 0, result.output
    assert "webhook_delivery ran for" in result.output and "1 rows" in result.output
    assert len(receiver.posts) == 1


def test_the_scheduler_tick_drains_the_queue(app, db, receiver, make_webhook):
    class HeldLock:
        held = True
        holder = "test"

        def acquire(self):
            return True

    make_webhook(receiver.url)
    emit(db)
    report = SchedulerService(app, HeldLock()).tick()
    assert report.active
    assert len(receiver.posts) == 1
    assert all(job != "webhook_delivery" for job, _, _ in report.ran)


def test_deleting_an_endpoint_drops_its_queue(db, receiver, make_webhook, api):
    webhook = make_webhook(receiver.url)
    emit(db)
    assert api("crmo").delete(f"/api/v1/webhooks/{webhook.id}").status_code == 204
    assert db.session.scalar(sa.select(sa.func.count(Delivery.id))) == 0
    assert db.session.get(Webhook, webhook.id) is None
