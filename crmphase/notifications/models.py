"""Notifications (SPEC §2): listed in the app always, mailed when SMTP is configured."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmphase import clock
from crmphase.auth.models import User
from crmphase.database import UTCDateTime, enum_check
from crmphase.extensions import Model

DELIVERY_OUTCOMES = ("pending", "sent", "failed", "not_configured")


class Notification(Model):
    """A message to a person. Listed in the app always; mailed when SMTP is configured."""

    __tablename__ = "notifications"
    __table_args__ = (
        enum_check("delivery", DELIVERY_OUTCOMES, "delivery"),
        sa.Index("ix_notifications_recipient_id_created_at", "recipient_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recipient_email: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    reason_type: Mapped[str] = mapped_column(sa.String(20))  # alert | review | export | kpi_due
    reason_id: Mapped[int | None]
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery: Mapped[str] = mapped_column(sa.String(16), default="pending")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    recipient: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Notification {self.id} to {self.recipient_email}: {self.subject!r}>"
