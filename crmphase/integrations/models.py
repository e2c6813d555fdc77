"""Webhook endpoints, the outbound delivery queue with its attempts, and calendar feeds."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmphase import clock
from crmphase.auth.models import User
from crmphase.database import UTCDateTime, enum_check
from crmphase.extensions import Model
from crmphase.integrations.rules import (
    DELIVERY_KINDS,
    DELIVERY_STATES,
    WEBHOOK_STATES,
)


class Webhook(Model):
    """An endpoint the CRMO registered: where to post which events, signed with ``secret``."""

    __tablename__ = "webhooks"
    __table_args__ = (enum_check("state", WEBHOOK_STATES, "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    events: Mapped[str] = mapped_column(sa.Text)  # space-separated event types
    secret: Mapped[str] = mapped_column(sa.String(100))  # whsec_<base64>; needed to sign
    state: Mapped[str] = mapped_column(sa.String(16), default="active")
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    version: Mapped[int] = mapped_column(default=1)

    created_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def event_types(self) -> list[str]:
        return self.events.split()

    def __repr__(self) -> str:
        return f"<Webhook {self.id} {self.url} {self.state}>"


class Delivery(Model):
    """One message to one receiver (a webhook endpoint or a program's chat): the queue row.

    ``message_id`` is the ``webhook-id`` every attempt carries, so a receiver that
    deduplicates by it sees each event once however often it is retried or redelivered.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        enum_check("kind", DELIVERY_KINDS, "kind"),
        enum_check("state", DELIVERY_STATES, "state"),
        sa.CheckConstraint(
            "(kind = 'webhook' AND webhook_id IS NOT NULL) "
            "OR (kind = 'chat' AND program_id IS NOT NULL)",
            name="target",
        ),
        sa.Index("ix_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
        sa.Index("ix_deliveries_webhook_id_created_at", "webhook_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    webhook_id: Mapped[int | None] = mapped_column(sa.ForeignKey("webhooks.id", ondelete="CASCADE"))
    program_id: Mapped[int | None] = mapped_column(sa.ForeignKey("programs.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    event_type: Mapped[str] = mapped_column(sa.String(40))
    body: Mapped[str] = mapped_column(sa.Text)  # the exact bytes posted, as UTF-8 JSON
    state: Mapped[str] = mapped_column(sa.String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    webhook: Mapped[Webhook | None] = relationship()
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="delivery", order_by="DeliveryAttempt.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Delivery {self.message_id} {self.event_type} {self.state}>"


class DeliveryAttempt(Model):
    """One POST of a delivery: what the receiver answered, or why nothing came back."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(default=0)
    status_code: Mapped[int | None]
    succeeded: Mapped[bool] = mapped_column(default=False)
    response_excerpt: Mapped[str] = mapped_column(sa.Text, default="")
    error: Mapped[str] = mapped_column(sa.Text, default="")

    delivery: Mapped[Delivery] = relationship(back_populates="attempt_log")

    def __repr__(self) -> str:
        return f"<DeliveryAttempt {self.id} of {self.delivery_id}: {self.status_code}>"


class CalendarFeed(Model):
    """A user's private calendar address: the token in ``/calendar/<token>.ics``.

    The token is kept as is (not hashed): the account page and ``/me`` show the address
    again, as calendar services do; rotating it replaces it, revoking deletes the row."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<CalendarFeed of user {self.user_id}>"


__all__ = ["CalendarFeed", "Delivery", "DeliveryAttempt", "Webhook"]
