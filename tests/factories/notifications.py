"""Factories of the notifications domain."""

from __future__ import annotations

from crmphase.models import Notification, User

from .base import fixture_of, next_number, save


def make_notification(recipient: User, subject: str = "Measurement due", **fields) -> Notification:
    """``make_notification(user, "Due: A", dedupe_key="n:1")``: a KPI-due notification to
    ``recipient``, not yet mailed.

    A direct row: the jobs write notifications from what they find (and mail them); the
    tests of the notification pages and API need some in place.
    """
    fields.setdefault("recipient_email", recipient.email)
    fields.setdefault("body", "Please record it.")
    fields.setdefault("reason_type", "kpi_due")
    fields.setdefault("dedupe_key", f"test:{next_number()}")
    return save(Notification(recipient_id=recipient.id, subject=subject, **fields))


make_notification_fixture = fixture_of(make_notification)
