"""Reads of notifications: a person's list and unread count, the delivery summary."""

from __future__ import annotations

import functools

import sqlalchemy as sa

from crmphase.auth.models import User
from crmphase.errors import NotFound
from crmphase.extensions import db
from crmphase.notifications.models import Notification

MAX_ID = 2**31 - 1  # the id column is a 32-bit integer


def notifications_query(user: User, *, unread_only: bool = False) -> sa.Select[Notification]:
    """The notifications of ``user``, newest first (only the unread ones if asked)."""
    query = (
        sa.select(Notification)
        .where(Notification.recipient_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query


@functools.cache
def unread_count_statement() -> sa.Select[int]:
    """Unread notifications of ``:user_id`` (built once: the navigation counts them on
    every page)."""
    notes = Notification.__table__
    return sa.select(sa.func.count(notes.c.id)).where(
        notes.c.recipient_id == sa.bindparam("user_id"), notes.c.read_at.is_(None)
    )


def get_own(user: User, notification_id: int) -> Notification:
    """A notification of ``user``; somebody else's is reported as not found."""
    notification = (
        db.session.get(Notification, notification_id) if 0 < notification_id <= MAX_ID else None
    )
    if notification is None or notification.recipient_id != user.id:
        raise NotFound(f"no notification {notification_id} for you")
    return notification


def delivery_summary() -> dict[str, int]:
    """Notifications by delivery outcome (the job page shows it to the CRMO)."""
    rows = db.session.execute(
        sa.select(Notification.delivery, sa.func.count(Notification.id)).group_by(
            Notification.delivery
        )
    )
    return dict(rows.all())
