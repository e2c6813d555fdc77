"""JSON shapes of webhooks, their deliveries, and the events they carry (SPEC §7)."""

import marshmallow as ma

from crmphase.api.fields import PageQuery, page_schema
from crmphase.integrations.rules import DELIVERY_STATES, EVENT_TYPES, WEBHOOK_STATES

Str = ma.fields.String
Int = ma.fields.Integer
Dt = ma.fields.DateTime


class WebhookSchema(ma.Schema):
    id = Int(dump_only=True)
    url = Str(required=True, metadata={"example": "https://hooks.example.com/crmphase"})
    events = ma.fields.List(
        Str(validate=ma.validate.OneOf(EVENT_TYPES)),
        required=True,
        attribute="event_types",
        metadata={"example": ["gate.decided", "alert.escalated"]},
    )
    description = Str(load_default="")
    state = Str(dump_only=True, metadata={"enum": list(WEBHOOK_STATES)})
    failing_since = Dt(dump_only=True, allow_none=True)
    created_at = Dt(dump_only=True)
    version = Int(dump_only=True)


class WebhookCreated(WebhookSchema):
    """The answer to a creation or a rotation: the only time ``secret`` is shown."""

    secret = Str(dump_only=True, metadata={"example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})


class WebhookUpdate(ma.Schema):
    version = Int(required=True)
    url = Str()
    events = ma.fields.List(Str(validate=ma.validate.OneOf(EVENT_TYPES)))
    description = Str()


class AttemptSchema(ma.Schema):
    started_at = Dt()
    status_code = Int(allow_none=True)
    duration_ms = Int()
    succeeded = ma.fields.Boolean()
    response_excerpt = Str()
    error = Str()


class DeliverySchema(ma.Schema):
    id = Int()
    message_id = Str(metadata={"description": "the webhook-id header of every attempt"})
    event_type = Str(metadata={"enum": list(EVENT_TYPES)})
    state = Str(metadata={"enum": list(DELIVERY_STATES)})
    attempts = Int()
    next_attempt_at = Dt(allow_none=True)
    created_at = Dt()
    delivered_at = Dt(allow_none=True)
    attempt_log = ma.fields.List(ma.fields.Nested(AttemptSchema), data_key="attempt_log")


DeliveryPage = page_schema(DeliverySchema, "DeliveryPage")


class DeliveryQuery(PageQuery):
    pass


# --- the events' bodies: {type, timestamp, data} ---------------------------------------


class GateReviewRequestedData(ma.Schema):
    review_id = Int()
    project_id = Int()
    project_name = Str()
    program_id = Int()
    phase = Str()
    requested_by = Str()
    note = Str()


class GateDecidedData(ma.Schema):
    decision_id = Int()
    project_id = Int()
    project_name = Str()
    program_id = Int()
    phase = Str()
    decision = Str(metadata={"enum": ["go", "hold", "kill", "recycle"]})
    to_phase = Str(allow_none=True)
    decided_by = Str()
    rationale = Str()


class AlertData(ma.Schema):
    alert_id = Int()
    kind = Str()
    project_id = Int(allow_none=True)
    project_name = Str(allow_none=True)
    period = Str(allow_none=True)
    escalated = ma.fields.Boolean()
    message = Str()


class MeasurementRecordedData(ma.Schema):
    measurement_id = Int()
    kpi_id = Int()
    kpi_name = Str()
    project_id = Int()
    period = Str()
    value = Str(metadata={"description": "a decimal string"})
    recorded_by = Str(allow_none=True)


class SnapshotWrittenData(ma.Schema):
    period = Str()
    snapshots = Int(metadata={"description": "how many project snapshots were written"})


class ExportBuiltData(ma.Schema):
    export_id = Int()
    period = Str()
    formats = ma.fields.List(Str())


EVENT_DATA = {
    "gate.review_requested": GateReviewRequestedData,
    "gate.decided": GateDecidedData,
    "alert.opened": AlertData,
    "alert.escalated": AlertData,
    "alert.resolved": AlertData,
    "measurement.recorded": MeasurementRecordedData,
    "snapshot.written": SnapshotWrittenData,
    "export.built": ExportBuiltData,
}


def event_schema(event_type: str) -> type[ma.Schema]:
    """The schema of a whole event body of ``event_type``."""
    return ma.Schema.from_dict(
        {
            "type": Str(metadata={"enum": [event_type]}),
            "timestamp": Dt(),
            "data": ma.fields.Nested(EVENT_DATA[event_type]),
        },
        name=event_schema_name(event_type),
    )


def event_schema_name(event_type: str) -> str:
    """``gate.review_requested`` → ``GateReviewRequestedEvent``."""
    words = event_type.replace(".", "_").split("_")
    return "".join(w.capitalize() for w in words) + "Event"


class EventTypeSchema(ma.Schema):
    name = Str(metadata={"enum": list(EVENT_TYPES)})
    schema = Str(metadata={"description": "the component in this document describing its body"})
