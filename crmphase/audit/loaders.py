"""Reading the audit trail (its writes are :func:`crmphase.audit.services.record_event`)."""

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from crmphase.audit.models import Event


def project_events_query(project_id: int, *, newest_first: bool = True) -> sa.Select[Event]:
    """A project's events, in the order they happened (or newest first for pages)."""
    order = (Event.id.desc(),) if newest_first else (Event.id.asc(),)
    return (
        sa.select(Event)
        .where(Event.project_id == project_id)
        .options(selectinload(Event.actor))
        .order_by(*order)
    )


SECURITY_EVENT_PREFIXES = ("auth.", "token.", "user.")


def security_events_query() -> sa.Select[Event]:
    """Sign-in failures, token and user changes, newest first."""
    return (
        sa.select(Event)
        .where(sa.or_(*[Event.action.startswith(p) for p in SECURITY_EVENT_PREFIXES]))
        .options(selectinload(Event.actor))
        .order_by(Event.id.desc())
    )
