"""Every write of integrations: webhook endpoints, the delivery queue, calendar feeds.

Events are queued, never delivered in the caller's request: :func:`emit_event` only adds
``deliveries`` rows to the caller's transaction (so an event exists exactly when the change
it reports committed). :func:`deliver_due` drains the queue — the scheduler calls it on
every tick, ``flask jobs run webhook_delivery`` once. A delivery is claimed with a
compare-and-swap before it is posted, so two processes never post the same attempt.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from crmphase import clock
from crmphase.audit.services import record_event
from crmphase.auth.loaders import active_officers
from crmphase.auth.models import User
from crmphase.database import rows_matched
from crmphase.errors import FieldError, NotFound, ValidationFailed
from crmphase.exports.models import ExportFile
from crmphase.extensions import db
from crmphase.integrations import transport
from crmphase.integrations.models import CalendarFeed, Delivery, DeliveryAttempt, Webhook
from crmphase.integrations.rules import (
    CHAT_EVENTS,
    CHAT_FLAVOURS,
    MAX_ATTEMPTS,
    UrlRefused,
    chat_body,
    event_body,
    is_success,
    new_message_id,
    new_secret,
    next_attempt_delay,
    signed_headers,
    unknown_events,
)
from crmphase.metrics.models import Alert, Kpi, Measurement
from crmphase.notifications.services import Draft, queue
from crmphase.phases.models import GateDecision, GateReview
from crmphase.programs.models import Program, Project
from crmphase.versioning import check_version, commit_versioned

log = logging.getLogger(__name__)

CLAIM_FOR = timedelta(minutes=2)
DRAIN_BATCH = 100
DRAIN_BUDGET_SECONDS = 40


# --- webhook endpoints ---------------------------------------------------------------------


def _checked_url(url: str, field: str = "url") -> str:
    try:
        transport.check_receiver_url(url)
    except UrlRefused as exc:
        raise ValidationFailed.one(field, str(exc)) from None
    return url.strip()


def _checked_events(events) -> str:
    names = [str(e).strip() for e in (events or []) if str(e).strip()]
    if not names:
        raise ValidationFailed.one("events", "name at least one event")
    unknown = unknown_events(names)
    if unknown:
        raise ValidationFailed.one("events", f"unknown event: {', '.join(unknown)}")
    return " ".join(dict.fromkeys(names))


def create_webhook(actor, *, url: str, events, description: str = "") -> Webhook:
    """Register an endpoint; its ``secret`` is answered once, by the caller, from the
    returned object."""
    errors: list[FieldError] = []
    for check in (lambda: _checked_url(url), lambda: _checked_events(events)):
        try:
            check()
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    webhook = Webhook(
        url=url.strip(),
        events=_checked_events(events),
        description=(description or "").strip()[:200],
        secret=new_secret(),
        created_by_id=getattr(actor, "id", None),
        created_at=clock.now(),
    )
    db.session.add(webhook)
    db.session.flush()
    record_event(
        actor,
        "webhook.create",
        "webhook",
        webhook.id,
        after={"url": webhook.url, "events": webhook.event_types},
    )
    db.session.commit()
    return webhook


def update_webhook(
    actor, webhook_id: int, version, *, url=None, events=None, description=None
) -> Webhook:
    """Change an endpoint's URL, events or description (optimistic lock on ``version``)."""
    webhook = get_webhook(webhook_id)
    looked_at = check_version(webhook, version, "webhook")
    before = {"url": webhook.url, "events": webhook.event_types}
    if url is not None:
        webhook.url = _checked_url(url)
    if events is not None:
        webhook.events = _checked_events(events)
    if description is not None:
        webhook.description = description.strip()[:200]
    record_event(
        actor,
        "webhook.update",
        "webhook",
        webhook.id,
        before=before,
        after={"url": webhook.url, "events": webhook.event_types},
    )
    commit_versioned(webhook, "webhook", looked_at)
    return webhook


def rotate_secret(actor, webhook_id: int) -> Webhook:
    """Give an endpoint a new secret (answered once); the old one stops signing at once."""
    webhook = get_webhook(webhook_id)
    webhook.secret = new_secret()
    record_event(actor, "webhook.rotate_secret", "webhook", webhook.id)
    db.session.commit()
    return webhook


def delete_webhook(actor, webhook_id: int) -> None:
    """Remove an endpoint with its queue and log."""
    webhook = get_webhook(webhook_id)
    record_event(actor, "webhook.delete", "webhook", webhook.id, before={"url": webhook.url})
    db.session.execute(sa.delete(Delivery).where(Delivery.webhook_id == webhook.id))
    db.session.delete(webhook)
    db.session.commit()


def get_webhook(webhook_id: int) -> Webhook:
    webhook = db.session.get(Webhook, webhook_id) if 0 < webhook_id < 2**31 else None
    if webhook is None:
        raise NotFound(f"no webhook {webhook_id}")
    return webhook


def redeliver(actor, webhook_id: int, delivery_id: int) -> Delivery:
    """Queue a delivery again, now, with the same ``webhook-id`` (receivers deduplicate)."""
    delivery = db.session.get(Delivery, delivery_id) if 0 < delivery_id < 2**31 else None
    if delivery is None or delivery.webhook_id != webhook_id:
        raise NotFound(f"webhook {webhook_id} has no delivery {delivery_id}")
    delivery.state = "pending"
    delivery.next_attempt_at = clock.now()
    delivery.claimed_until = None
    record_event(actor, "webhook.redeliver", "webhook", webhook_id, after={"delivery": delivery.id})
    db.session.commit()
    return delivery


# --- program chat --------------------------------------------------------------------------


def checked_chat_setting(url: str, flavour: str) -> tuple[str, str]:
    """A program's chat URL ("" for none) and flavour, validated (422 otherwise)."""
    url = (url or "").strip()
    flavour = (flavour or "slack").strip()
    if flavour not in CHAT_FLAVOURS:
        raise ValidationFailed.one("chat_flavour", f"choose one of {', '.join(CHAT_FLAVOURS)}")
    if url:
        _checked_url(url, "chat_url")
    return url, flavour


# --- events and the queue ------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingEvent:
    """One event to queue: its type and data, and for a program's chat (when ``summary``
    is given) the short message and the page it links to."""

    event_type: str
    data: dict
    program_id: int | None = None  # None: every program's chat
    summary: str | None = None
    path: str | None = None


def emit_event(
    event_type: str,
    data: dict,
    *,
    program_id: int | None = None,
    summary: str | None = None,
    path: str | None = None,
) -> int:
    """Queue ``event_type`` for every endpoint that wants it, and (with ``summary``) a
    short message with a link to ``path`` for the program's chat — or, without a
    program, every program's chat. Adds rows to the caller's transaction only; returns
    how many."""
    return emit_events([OutgoingEvent(event_type, data, program_id, summary, path)])


def emit_events(events: list[OutgoingEvent]) -> int:
    """:func:`emit_event` for many events, with a fixed number of reads for any number."""
    if not events:
        return 0
    now = clock.now()
    webhooks = db.session.scalars(sa.select(Webhook).order_by(Webhook.id)).all()
    chats: list[Program] | None = None
    rows = []
    for event in events:
        body = event_body(event.event_type, now, event.data)
        for webhook in webhooks:
            if event.event_type in webhook.event_types:
                rows.append(
                    _delivery("webhook", event.event_type, body, now, webhook_id=webhook.id)
                )
        if not event.summary or event.event_type not in CHAT_EVENTS:
            continue
        if chats is None:
            chats = list(db.session.scalars(sa.select(Program).where(Program.chat_url != "")))
        link = _absolute(event.path or "/")
        for program in chats:
            if event.program_id is not None and program.id != event.program_id:
                continue
            message = json.dumps(chat_body(program.chat_flavour, event.summary, link)).encode()
            rows.append(_delivery("chat", event.event_type, message, now, program_id=program.id))
    db.session.add_all(rows)
    return len(rows)


def _delivery(kind: str, event_type: str, body: bytes, now: datetime, **target) -> Delivery:
    return Delivery(
        kind=kind,
        event_type=event_type,
        body=body.decode(),
        message_id=new_message_id(),
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        **target,
    )


def _absolute(path: str) -> str:
    base = (current_app.config.get("CRMPHASE_BASE_URL") or "http://localhost:5000").rstrip("/")
    return base + path


def deliver_due(now: datetime | None = None, *, budget_seconds: float = DRAIN_BUDGET_SECONDS):
    """Post every delivery whose attempt is due, oldest first; record each attempt.

    A receiver that fails is not tried again in the same drain (its other deliveries
    wait for their next turn), so one hanging endpoint costs one timeout per drain, and
    the drain stops claiming after ``budget_seconds``. Returns counts by outcome."""
    now = now or clock.now()
    started = time.monotonic()
    counts = {"delivered": 0, "retrying": 0, "failed": 0, "skipped": 0}
    broken: set[tuple[str, int | None]] = set()
    due = db.session.execute(
        sa.select(Delivery.id, Delivery.kind, Delivery.webhook_id, Delivery.program_id)
        .where(
            Delivery.state == "pending",
            Delivery.next_attempt_at <= now,
            sa.or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
        )
        .order_by(Delivery.id)
        .limit(DRAIN_BATCH)
    ).all()
    db.session.rollback()  # end the read: nothing is held while posting
    for delivery_id, kind, webhook_id, program_id in due:
        receiver = (kind, webhook_id or program_id)
        if receiver in broken or time.monotonic() - started > budget_seconds:
            counts["skipped"] += 1
            continue
        outcome = _deliver_one(delivery_id, now)
        if outcome is None:
            continue
        counts[outcome] += 1
        if outcome != "delivered":
            broken.add(receiver)
    return counts


def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    claimed = db.session.execute(
        sa.update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.state == "pending",
            sa.or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
        )
        .values(claimed_until=now + CLAIM_FOR)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if rows_matched(claimed) != 1:
        return None
    return db.session.get(Delivery, delivery_id)


def _request(delivery: Delivery) -> tuple[str, dict[str, str]] | None:
    body = delivery.body.encode()
    if delivery.kind == "webhook":
        webhook = delivery.webhook
        assert webhook is not None  # a webhook delivery's endpoint (foreign key, cascade)
        # The signature's timestamp is the wall clock, not crmphase.clock: receivers check
        # it against their own clock to refuse replays, so a fixed CRMPHASE_NOW must not
        # leak into it.
        stamp = int(time.time())
        return webhook.url, signed_headers(webhook.secret, delivery.message_id, stamp, body)
    program = db.session.get(Program, delivery.program_id)
    if program is None or not program.chat_url:
        return None
    return program.chat_url, {"content-type": "application/json"}


def _deliver_one(delivery_id: int, now: datetime) -> str | None:
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    request = _request(delivery)
    attempt_started = clock.now()
    if request is None:
        result = transport.PostResult(None, "", "the program has no chat URL any more", 0)
    else:
        url, headers = request
        db.session.commit()  # hold no transaction during the POST
        result = transport.post(url, delivery.body.encode(), headers)
    delivery = db.session.get_one(Delivery, delivery_id)
    attempt = DeliveryAttempt(
        delivery_id=delivery.id,
        started_at=attempt_started,
        duration_ms=result.duration_ms,
        status_code=result.status_code,
        succeeded=is_success(result.status_code),
        response_excerpt=result.response_excerpt,
        error=result.error or ("" if is_success(result.status_code) else "not a 2xx answer"),
    )
    db.session.add(attempt)
    delivery.attempts += 1
    delivery.claimed_until = None
    webhook = delivery.webhook
    if attempt.succeeded:
        delivery.state = "delivered"
        delivery.delivered_at = clock.now()
        delivery.next_attempt_at = None
        if webhook is not None and webhook.state == "failing":
            webhook.state, webhook.failing_since = "active", None
        outcome = "delivered"
    else:
        delay = next_attempt_delay(delivery.attempts)
        if delay is None or delivery.attempts >= MAX_ATTEMPTS:
            delivery.state = "failed"
            delivery.next_attempt_at = None
            if webhook is not None:
                _mark_failing(webhook, delivery)
            outcome = "failed"
        else:
            delivery.next_attempt_at = now + delay
            outcome = "retrying"
    db.session.commit()
    return outcome


def _mark_failing(webhook: Webhook, delivery: Delivery) -> None:
    failing_since = webhook.failing_since
    if webhook.state != "failing" or failing_since is None:
        failing_since = clock.now()
        webhook.state, webhook.failing_since = "failing", failing_since
    crmos = active_officers()
    since = failing_since.isoformat(timespec="seconds")
    queue(
        [
            Draft(
                recipient=user,
                subject=f"Webhook failing: {webhook.url}"[:200],
                body=(
                    f"crmphase could not deliver {delivery.event_type} ({delivery.message_id}) "
                    f"to {webhook.url} after {delivery.attempts} attempts over about a day. "
                    f"New events are still queued and tried; see /webhooks/{webhook.id} to "
                    "read the attempts and redeliver."
                ),
                reason_type="webhook",
                reason_id=webhook.id,
                dedupe_key=f"webhook_failing:{webhook.id}:{since}:{user.id}",
            )
            for user in crmos
        ]
    )


# --- calendar feeds ------------------------------------------------------------------------


def feed_of(user) -> CalendarFeed | None:
    return db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.user_id == user.id))


def rotate_calendar_token(actor) -> CalendarFeed:
    """Give ``actor`` a calendar address (or a new one: the old address stops working)."""
    feed = feed_of(actor)
    if feed is None:
        feed = CalendarFeed(user_id=actor.id)
        db.session.add(feed)
    feed.token = secrets.token_urlsafe(32)
    feed.created_at = clock.now()
    db.session.flush()
    record_event(actor, "calendar.rotate", "user", actor.id)
    db.session.commit()
    return feed


def revoke_calendar_token(actor) -> None:
    """End ``actor``'s calendar address."""
    feed = feed_of(actor)
    if feed is not None:
        db.session.delete(feed)
        record_event(actor, "calendar.revoke", "user", actor.id)
        db.session.commit()


# --- what the other domains announce (one call each, inside their transaction) -------------


def _name(user) -> str | None:
    return getattr(user, "name", None)


def announce_review_requested(review: GateReview, project: Project) -> None:
    """``gate.review_requested``, to the endpoints and the program's chat."""
    emit_event(
        "gate.review_requested",
        {
            "review_id": review.id,
            "project_id": project.id,
            "project_name": project.name,
            "program_id": project.program_id,
            "phase": review.phase,
            "requested_by": _name(db.session.get(User, review.requested_by_id)),
            "note": review.note,
        },
        program_id=project.program_id,
        summary=f"Gate review requested: {project.name} ({review.phase} gate)",
        path=f"/projects/{project.id}",
    )


def announce_gate_decided(decision: GateDecision, project: Project) -> None:
    """``gate.decided``, to the endpoints and the program's chat."""
    emit_event(
        "gate.decided",
        {
            "decision_id": decision.id,
            "project_id": project.id,
            "project_name": project.name,
            "program_id": project.program_id,
            "phase": decision.phase,
            "decision": decision.decision,
            "to_phase": decision.to_phase,
            "decided_by": _name(db.session.get(User, decision.decided_by_id)),
            "rationale": decision.rationale,
        },
        program_id=project.program_id,
        summary=(
            f"Gate decided: {project.name} — {decision.decision} at the {decision.phase} gate"
        ),
        path=f"/projects/{project.id}",
    )


def announce_alerts(*, opened=(), resolved=(), escalated=()) -> None:
    """``alert.opened``, ``alert.resolved`` and ``alert.escalated`` for the alerts given
    (flushed, so they have ids); escalations also go to the program's chat. A fixed
    number of reads for any number of alerts (the daily check may change many)."""
    batches = (
        ("alert.opened", list(opened)),
        ("alert.resolved", list(resolved)),
        ("alert.escalated", list(escalated)),
    )
    project_ids = {a.project_id for _, alerts in batches for a in alerts}
    if not project_ids:
        return
    projects = {
        p.id: p for p in db.session.scalars(sa.select(Project).where(Project.id.in_(project_ids)))
    }
    events = []
    for event_type, alerts in batches:
        for alert in alerts:
            project = projects.get(alert.project_id)
            name = project.name if project else None
            data = {
                "alert_id": alert.id,
                "kind": alert.kind,
                "project_id": alert.project_id,
                "project_name": name,
                "period": alert.period,
                "escalated": getattr(alert, "escalated_at", None) is not None,
                "message": alert.detail,
            }
            events.append(
                OutgoingEvent(
                    event_type,
                    data,
                    program_id=project.program_id if project else None,
                    summary=f"Alert escalated: {name} — {alert.detail}"[:300],
                    path=f"/projects/{alert.project_id}",
                )
            )
    emit_events(events)


def announce_alerts_resolved(alert_ids) -> None:
    """``alert.resolved`` for the alerts with ``alert_ids`` (resolved by a bulk update)."""
    ids = list(alert_ids)
    if ids:
        announce_alerts(resolved=db.session.scalars(sa.select(Alert).where(Alert.id.in_(ids))))


def announce_measurement(measurement: Measurement, kpi: Kpi) -> None:
    """``measurement.recorded`` (a new value or a correction)."""
    emit_event(
        "measurement.recorded",
        {
            "measurement_id": measurement.id,
            "kpi_id": kpi.id,
            "kpi_name": kpi.name,
            "project_id": kpi.project_id,
            "period": measurement.period,
            "value": str(measurement.value),
            "recorded_by": _name(db.session.get(User, measurement.recorded_by_id))
            if measurement.recorded_by_id
            else None,
        },
    )


def announce_snapshots(period: str, written: int) -> None:
    """``snapshot.written`` for a month's ROI snapshots."""
    emit_event("snapshot.written", {"period": period, "snapshots": written})


def announce_export(files: list[ExportFile]) -> None:
    """``export.built`` for a month's review files; every program's chat hears of the
    monthly review."""
    if not files:
        return
    period = files[0].period
    emit_event(
        "export.built",
        {"export_id": files[0].id, "period": period, "formats": [f.format for f in files]},
        summary=f"The monthly review of {period} is ready",
        path=f"/exports?period={period}",
    )


def check_chat_setting(data: dict, errors) -> None:
    """Normalise a program's ``chat_url`` ("" for none) and ``chat_flavour`` in ``data``
    and add what is wrong with them to ``errors`` (a ``FieldErrors``)."""
    try:
        data["chat_url"], data["chat_flavour"] = checked_chat_setting(
            data.get("chat_url") or "", data.get("chat_flavour") or "slack"
        )
    except ValidationFailed as exc:
        for error in exc.errors:
            errors.add(error.field, error.message)
