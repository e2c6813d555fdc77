"""Writing the audit trail. Called inside a service's transaction; never commits."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from crmphase.audit.models import Event
from crmphase.extensions import db


def plain_values(value):
    """``value`` as JSON holds it: decimals as strings, dates ISO, enums by value, nested."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: plain_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain_values(v) for v in value]
    return value


def changed_fields(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, for a compact event."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record_event(
    actor,
    action: str,
    subject_type: str,
    subject_id: int | None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    project_id: int | None = None,
    program_id: int | None = None,
) -> Event:
    """Append an audit event to the current transaction."""
    event = Event(
        actor_id=getattr(actor, "id", None),
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        project_id=project_id,
        program_id=program_id,
        before=plain_values(before) if before is not None else None,
        after=plain_values(after) if after is not None else None,
    )
    db.session.add(event)
    return event
