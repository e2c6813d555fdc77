"""The append-only audit trail (SPEC §1)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmphase import clock
from crmphase.auth.models import User
from crmphase.database import UTCDateTime
from crmphase.extensions import Model


class Event(Model):
    """Who did what, when, with the values before and after. Never updated or deleted."""

    __tablename__ = "events"
    __table_args__ = (sa.Index("ix_events_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(64))
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[int | None]
    program_id: Mapped[int | None] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(sa.ForeignKey("projects.id"))
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.action} {self.subject_type}:{self.subject_id}>"


class AuditTrailImmutable(RuntimeError):
    """Raised when code tries to change or delete an audit event: the trail is append-only."""


@sa.event.listens_for(Event, "before_update")
def _refuse_event_update(_mapper, _connection, target: Event) -> None:
    raise AuditTrailImmutable(f"audit event {target.id} cannot be changed")


@sa.event.listens_for(Event, "before_delete")
def _refuse_event_delete(_mapper, _connection, target: Event) -> None:
    raise AuditTrailImmutable(f"audit event {target.id} cannot be deleted")


@sa.event.listens_for(sa.orm.Session, "do_orm_execute")
def _refuse_bulk_event_changes(state) -> None:
    """``session.execute(update(Event)...)`` and ``delete(Event)`` bypass the mapper events."""
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is Event for mapper in state.all_mappers
    ):
        raise AuditTrailImmutable("audit events cannot be changed or deleted")
