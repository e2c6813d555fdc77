"""The domains' changes reach a loopback receiver, signed and verifiable by
``standardwebhooks``, through the queue (never in the request), and the program's chat."""

from __future__ import annotations

import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook as Verifier

from crmphase import clock
from crmphase.integrations.models import Delivery
from crmphase.integrations.services import announce_alerts, deliver_due
from crmphase.jobs.services import run_job
from crmphase.metrics.services import record_measurement
from crmphase.phases.services import decide, request_review


def received(receiver, webhook):
    bodies = [Verifier(webhook.secret).verify(p.body, p.headers) for p in receiver.posts]
    return {body["type"]: body for body in bodies}


def test_a_review_request_and_a_gate_decision_arrive(
    db, receiver, make_webhook, make_project, make_user
):
    webhook = make_webhook(receiver.url, ["gate.review_requested", "gate.decided"])
    project = make_project(phase="evaluate", name="Win-back")
    request_review(project.manager, project, "Pilot done")
    assert receiver.posts == []  # queued, not posted by the request
    decide(make_user("steering"), project, "hold", "Wait for the Q3 budget")
    deliver_due()
    events = received(receiver, webhook)
    assert events["gate.review_requested"]["data"]["project_name"] == "Win-back"
    decided = events["gate.decided"]["data"]
    assert (decided["project_id"], decided["decision"], decided["phase"]) == (
        project.id,
        "hold",
        "evaluate",
    )


def test_a_snapshot_and_an_alert_arrive(db, receiver, make_webhook, tracked_project, make_kpi):
    webhook = make_webhook(receiver.url, ["snapshot.written", "alert.opened", "alert.resolved"])
    project = tracked_project()
    kpi = make_kpi(project)
    with clock.frozen("2026-02-11T06:00:00"):
        assert run_job("measurement_check", "2026-02-11", trigger="schedule").succeeded
    with clock.frozen("2026-02-12T06:00:00"):
        assert run_job("roi_snapshot", "2026-01", trigger="schedule").succeeded
        record_measurement(project.manager, kpi, "2026-01", "12")
    deliver_due()
    events = received(receiver, webhook)
    assert events["snapshot.written"]["data"]["period"] == "2026-01"
    assert events["snapshot.written"]["data"]["snapshots"] >= 1
    opened = events["alert.opened"]["data"]
    assert opened["kind"] == "missing_measurement" and opened["project_id"] == project.id
    assert events["alert.resolved"]["data"]["alert_id"] == opened["alert_id"]


def test_a_measurement_arrives(db, receiver, make_webhook, make_kpi):
    webhook = make_webhook(receiver.url, ["measurement.recorded"])
    kpi = make_kpi()
    with clock.frozen("2026-03-05T10:00:00"):
        record_measurement(kpi.project.manager, kpi, "2026-02", "41.5")
    deliver_due()
    data = received(receiver, webhook)["measurement.recorded"]["data"]
    assert (data["kpi_id"], data["period"], data["value"]) == (kpi.id, "2026-02", "41.5")


def test_the_program_chat_hears_reviews_and_decisions(
    db, receiver, make_program, make_project, make_user
):
    program = make_program(chat_url=receiver.url, chat_flavour="slack")
    quiet = make_program()
    project = make_project(program=program, phase="evaluate", name="Upsell")
    other = make_project(program=quiet, phase="evaluate")
    request_review(project.manager, project)
    request_review(other.manager, other)
    decide(make_user("steering"), project, "hold", "Not yet")
    deliver_due()
    texts = [p.json["text"] for p in receiver.posts]
    assert len(texts) == 2
    assert texts[0].startswith("Gate review requested: Upsell")
    assert texts[1].startswith("Gate decided: Upsell — hold")
    assert f"/projects/{project.id}|Open in crmphase>" in texts[1]
    assert all("webhook-signature" not in p.headers for p in receiver.posts)


def test_a_teams_chat_gets_an_adaptive_card(db, receiver, make_program, make_project):
    program = make_program(chat_url=receiver.url, chat_flavour="teams")
    project = make_project(program=program, phase="evaluate", name="Cross-sell")
    request_review(project.manager, project)
    deliver_due()
    (post,) = receiver.posts
    card = post.json["attachments"][0]["content"]
    assert card["body"][0]["text"].startswith("Gate review requested: Cross-sell")
    assert db.session.scalar(sa.select(Delivery.kind)) == "chat"


def test_an_escalation_reaches_the_endpoint_and_the_chat(
    db, receiver, make_webhook, make_program, make_project, make_alert
):
    """What the escalation step of SPEC §4.3 calls (the ladder itself is not built yet)."""
    webhook = make_webhook(receiver.url, ["alert.escalated"])
    program = make_program(chat_url=receiver.url.replace("/hook", "/chat"))
    project = make_project(program=program, phase="execute", name="Service desk")
    alert = make_alert(project, "missing_measurement", "2026-01")
    announce_alerts(escalated=[alert])
    db.session.commit()
    deliver_due()
    by_path = {p.path: p for p in receiver.posts}
    event = Verifier(webhook.secret).verify(by_path["/hook"].body, by_path["/hook"].headers)
    assert event["type"] == "alert.escalated"
    assert event["data"]["alert_id"] == alert.id
    assert by_path["/chat"].json["text"].startswith("Alert escalated: Service desk")
