"""What integrations know, as plain code (no Flask, no database).

- Standard Webhooks signing (https://www.standardwebhooks.com): ``webhook-id``,
  ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256 of
  "id.timestamp.body">`` with the secret written ``whsec_<base64>``.
- Which receiver URLs are refused (SSRF): not http(s), plain http, or an address that is
  private, loopback, link-local or otherwise not public — unless the setting allows it.
- The retry schedule: exponential back-off over about a day, then the endpoint is failing.
- The chat message bodies (Slack-compatible and Microsoft Teams workflow).
- The calendar entries a user's feed holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from crmphase.metrics.roi import Cadence
from crmphase.metrics.rules import cadence_includes, grace_ends
from crmphase.periods import Period

EVENT_TYPES = (
    "gate.review_requested",
    "gate.decided",
    "alert.opened",
    "alert.escalated",
    "alert.resolved",
    "measurement.recorded",
    "snapshot.written",
    "export.built",
)
# What a program's chat hears: review requests, decisions, escalations, the monthly review.
CHAT_EVENTS = frozenset(
    {"gate.review_requested", "gate.decided", "alert.escalated", "export.built"}
)

WEBHOOK_STATES = ("active", "failing")
DELIVERY_KINDS = ("webhook", "chat")
DELIVERY_STATES = ("pending", "delivered", "failed")
CHAT_FLAVOURS = ("slack", "teams")

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
REQUEST_TIMEOUT_SECONDS = 10
EXCERPT_CHARS = 500

# The wait before attempt n+1 after n failed attempts (the Standard Webhooks suggestion:
# about 27 hours from the first attempt to the last). After the last one fails, the
# delivery is failed and its endpoint marked failing.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


# --- signing -----------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh signing secret, written ``whsec_<base64>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    """A unique ``webhook-id`` (receivers deduplicate by it)."""
    return "msg_" + secrets.token_urlsafe(18)


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: ``v1,<base64 HMAC-SHA256>`` over
    ``id.timestamp.body``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header of a signed delivery."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }


def event_body(event_type: str, timestamp: datetime, data: dict[str, Any]) -> bytes:
    """The JSON body of an event: ``{type, timestamp, data}``."""
    document = {"type": event_type, "timestamp": timestamp.isoformat(), "data": data}
    return json.dumps(document, separators=(",", ":"), sort_keys=True, default=str).encode()


# --- receiver URLs (SSRF) ------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, at least "/"


class UrlRefused(ValueError):
    """A receiver URL that is not accepted; the message says why."""


def parse_target(url: str, *, allow_private: bool) -> Target:
    """The parts of a receiver URL; :class:`UrlRefused` when it is not http(s), or plain
    http without ``allow_private``."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"'{text}' is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("the URL must start with https:// and name a host")
    if parts.scheme == "http" and not allow_private:
        raise UrlRefused("plain http is refused; use https://")
    if parts.username or parts.password:
        raise UrlRefused("the URL must not carry a user name or password")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default_port = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default_port, path)


def address_refusal(addresses: Iterable[str], *, allow_private: bool) -> str | None:
    """Why a host that resolves to ``addresses`` is refused (any one not public), or None."""
    found = list(addresses)
    if not found:
        return "the host name does not resolve"
    if allow_private:
        return None
    for text in found:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            return (
                f"the host resolves to {address}, a private, loopback or link-local "
                "address; only public addresses are allowed"
            )
    return None


def unknown_events(events: Iterable[str]) -> list[str]:
    """The names in ``events`` that are not event types."""
    return [e for e in events if e not in EVENT_TYPES]


# --- retries -------------------------------------------------------------------------------


def next_attempt_delay(failed_attempts: int) -> timedelta | None:
    """How long to wait after ``failed_attempts`` failures, or None: give up."""
    if failed_attempts < 1 or failed_attempts > len(RETRY_DELAYS):
        return None
    return RETRY_DELAYS[failed_attempts - 1]


def is_success(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


# --- chat ----------------------------------------------------------------------------------


def chat_body(flavour: str, text: str, link: str) -> dict[str, Any]:
    """A short chat message with a link: Slack-compatible ``{"text": ...}`` or a Teams
    workflow's Adaptive Card message."""
    if flavour == "teams":
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [{"type": "TextBlock", "text": text, "wrap": True}],
                        "actions": [
                            {"type": "Action.OpenUrl", "title": "Open in crmphase", "url": link}
                        ],
                    },
                }
            ],
        }
    return {"text": f"{text} <{link}|Open in crmphase>"}


# --- calendar ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnedKpi:
    """A KPI the feed's user owns, in a project that is tracked now."""

    kpi_id: int
    name: str
    project_id: int
    project_name: str
    baseline_period: Period | None
    cadence: Cadence
    grace_days: int


@dataclass(frozen=True)
class ManagedReview:
    """A project of the user in manage, with its next periodic review date."""

    project_id: int
    project_name: str
    due: date


@dataclass(frozen=True)
class WaitingReview:
    """A gate review waiting for the user's decision."""

    review_id: int
    project_id: int
    project_name: str
    phase: str
    requested_on: date


@dataclass(frozen=True)
class CalendarEntry:
    """One all-day event of a feed. ``uid`` stays the same across fetches."""

    uid: str
    day: date
    summary: str
    path: str  # the page it links to


FEED_MONTHS_BACK = 2
FEED_MONTHS_AHEAD = 3


def calendar_entries(
    today: date,
    kpis: Sequence[OwnedKpi],
    reviews: Sequence[ManagedReview],
    waiting: Sequence[WaitingReview],
    domain: str = "crmphase",
) -> list[CalendarEntry]:
    """The events of a user's feed around ``today``: for each owned KPI and each period
    from two months back to three ahead in its cadence, the day the measurement falls due
    (the period's last day) and its grace end; the next periodic review of each project
    in manage; each gate review waiting for a decision (on the day it was requested)."""
    entries: list[CalendarEntry] = []
    current = Period.of(today)
    for kpi in kpis:
        for offset in range(-FEED_MONTHS_BACK, FEED_MONTHS_AHEAD + 1):
            period = current.shift(offset)
            if kpi.baseline_period is None or period < kpi.baseline_period:
                continue
            if not cadence_includes(kpi.cadence, period):
                continue
            path = f"/projects/{kpi.project_id}"
            label = f"{kpi.name} ({kpi.project_name}) for {period}"
            entries.append(
                CalendarEntry(
                    f"kpi-{kpi.kpi_id}-{period}-due@{domain}",
                    period.last_day,
                    f"Measurement due: {label}",
                    path,
                )
            )
            entries.append(
                CalendarEntry(
                    f"kpi-{kpi.kpi_id}-{period}-grace@{domain}",
                    grace_ends(period, kpi.grace_days),
                    f"Grace ends: {label}",
                    path,
                )
            )
    for review in reviews:
        entries.append(
            CalendarEntry(
                f"project-{review.project_id}-review-{review.due.isoformat()}@{domain}",
                review.due,
                f"Periodic review: {review.project_name}",
                f"/projects/{review.project_id}",
            )
        )
    for item in waiting:
        entries.append(
            CalendarEntry(
                f"gate-review-{item.review_id}@{domain}",
                item.requested_on,
                f"Gate review waiting: {item.project_name} ({item.phase})",
                f"/projects/{item.project_id}",
            )
        )
    return sorted(entries, key=lambda e: (e.day, e.uid))
