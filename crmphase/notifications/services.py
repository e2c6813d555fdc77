"""Notifications (SPEC §2): queued by the jobs, listed in the app, mailed when SMTP is set.

Each notification has a unique ``dedupe_key`` (what it is about and for whom), so a job
that runs twice never sends a reminder twice. Delivery happens after the job's
transaction has committed; a notification is claimed before it is sent so that two
processes never mail the same one.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from flask import current_app

from crmphase import clock
from crmphase.auth.models import User
from crmphase.database import rows_matched
from crmphase.exports.models import ExportFile
from crmphase.extensions import db
from crmphase.notifications.loaders import get_own
from crmphase.notifications.mail import Attachment, MailConnection, OutgoingMail, mail_configured
from crmphase.notifications.models import Notification

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=10)
BATCH = 200
XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


class Recipient(Protocol):
    """Whom a notification is for: a user, or a rule's plain person with the same fields."""

    @property
    def id(self) -> int: ...

    @property
    def email(self) -> str: ...

    @property
    def active(self) -> bool: ...


@dataclass(frozen=True)
class Draft:
    """A notification to queue unless one with the same ``dedupe_key`` exists."""

    recipient: Recipient | None  # None (or an inactive one): nothing is queued
    subject: str
    body: str
    reason_type: str  # alert | review | export | kpi_due
    reason_id: int | None
    dedupe_key: str


def queue(drafts: list[Draft]) -> list[Notification]:
    """Add the drafts that are new (by ``dedupe_key``) to the session; return them."""
    unique: dict[str, tuple[Recipient, Draft]] = {}
    for draft in drafts:
        recipient = draft.recipient
        if recipient is not None and getattr(recipient, "active", True):
            unique.setdefault(draft.dedupe_key, (recipient, draft))
    if not unique:
        return []
    keys = list(unique)
    existing: set[str] = set()
    for start in range(0, len(keys), 500):
        existing.update(
            db.session.scalars(
                sa.select(Notification.dedupe_key).where(
                    Notification.dedupe_key.in_(keys[start : start + 500])
                )
            )
        )
    delivery = "pending" if mail_configured() else "not_configured"
    now = clock.now()
    added = []
    for key, (recipient, draft) in unique.items():
        if key in existing:
            continue
        notification = Notification(
            recipient_id=recipient.id,
            recipient_email=recipient.email,
            subject=draft.subject[:200],
            body=draft.body,
            reason_type=draft.reason_type,
            reason_id=draft.reason_id,
            dedupe_key=key[:200],
            created_at=now,
            delivery=delivery,
        )
        db.session.add(notification)
        added.append(notification)
    db.session.flush()
    return added


def app_link(path: str) -> str:
    """An absolute link when ``CRMPHASE_BASE_URL`` is set, else the path alone."""
    base = (current_app.config.get("CRMPHASE_BASE_URL") or "").rstrip("/")
    return f"{base}{path}" if base else path


# --- delivery ------------------------------------------------------------------------------


def _claim(notification_id: int) -> bool:
    """Mark a pending notification as being sent (``sent_at`` set while still pending);
    False when another process has it."""
    now = clock.now()
    result = db.session.execute(
        sa.update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.delivery == "pending",
            sa.or_(Notification.sent_at.is_(None), Notification.sent_at < now - CLAIM_TIMEOUT),
        )
        .values(sent_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return rows_matched(result) == 1


def _set_delivery(notification_id: int, **values) -> None:
    db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _attachments(notification: Notification) -> list[Attachment]:
    if notification.reason_type != "export" or notification.reason_id is None:
        return []
    export = db.session.get(ExportFile, notification.reason_id)
    if export is None:
        return []
    path = Path(current_app.config["CRMPHASE_EXPORT_DIR"]) / export.filename
    if not path.is_file():
        return []
    maintype, subtype = XLSX if export.format == "xlsx" else ("application", "octet-stream")
    return [Attachment(Path(export.filename).name, path.read_bytes(), maintype, subtype)]


def deliver_pending(limit: int = BATCH) -> dict[str, int]:
    """Mail the pending notifications (oldest first) over one SMTP session.

    A refused recipient marks that notification failed; a server that cannot be reached
    leaves them pending, with the error, for the next tick. Returns counts by outcome.
    """
    counts = {"sent": 0, "failed": 0, "pending": 0}
    if not mail_configured():
        return counts
    ids = list(
        db.session.scalars(
            sa.select(Notification.id)
            .where(Notification.delivery == "pending")
            .order_by(Notification.id)
            .limit(limit)
        )
    )
    db.session.commit()
    if not ids:
        return counts
    try:
        with MailConnection() as smtp:
            for notification_id in ids:
                if not _claim(notification_id):
                    continue
                notification = db.session.get(Notification, notification_id)
                if notification is None:  # deleted since it was claimed: nothing to send
                    continue
                mail = OutgoingMail(
                    notification.recipient_email,
                    notification.subject,
                    notification.body,
                    _attachments(notification),
                )
                try:
                    smtp.send(mail)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
                    _set_delivery(notification_id, delivery="failed", error=str(exc)[:2000])
                    counts["failed"] += 1
                else:
                    _set_delivery(notification_id, delivery="sent", sent_at=clock.now(), error="")
                    counts["sent"] += 1
    except (OSError, smtplib.SMTPException) as exc:
        db.session.rollback()
        log.warning("mail server unavailable, notifications stay pending: %s", exc)
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id.in_(ids), Notification.delivery == "pending")
            .values(sent_at=None, error=f"not sent yet: {exc}"[:2000])
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        counts["pending"] = len(ids) - counts["sent"] - counts["failed"]
    return counts


# --- marking read ------------------------------------------------------------------------


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one notification (or, without an id, all of them) read; returns how many."""
    now = clock.now()
    query = sa.update(Notification).where(
        Notification.recipient_id == user.id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        get_own(user, notification_id)
        query = query.where(Notification.id == notification_id)
    result = db.session.execute(
        query.values(read_at=now).execution_options(synchronize_session=False)
    )
    db.session.commit()
    return rows_matched(result)
