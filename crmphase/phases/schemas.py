"""JSON shapes of gates, criteria, reviews, decisions and the audit trail."""

import marshmallow as ma

from crmphase.api.fields import PageQuery, page_schema
from crmphase.phases.rules import DecisionKind, Phase

Str = ma.fields.String


class CriterionSchema(ma.Schema):
    key = Str()
    label = Str()
    help = Str()
    kind = Str(metadata={"enum": ["auto", "manual"]})
    required = ma.fields.Boolean()
    met = ma.fields.Boolean()
    explanation = Str()
    evidence = Str()
    checked_by_id = ma.fields.Integer(allow_none=True)
    checked_by_name = Str(allow_none=True)
    checked_at = ma.fields.DateTime(allow_none=True)


class UnmetSchema(ma.Schema):
    key = Str()
    label = Str()
    explanation = Str()


class ReviewSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    project_id = ma.fields.Integer(dump_only=True)
    phase = Str(dump_only=True)
    status = Str(dump_only=True, metadata={"enum": ["pending", "decided", "withdrawn"]})
    note = Str(load_default="", validate=ma.validate.Length(max=5000))
    requested_by_id = ma.fields.Integer(dump_only=True)
    requested_at = ma.fields.DateTime(dump_only=True)
    closed_at = ma.fields.DateTime(dump_only=True, allow_none=True)


class GateSchema(ma.Schema):
    project_id = ma.fields.Integer()
    phase = Str(metadata={"enum": [p.value for p in Phase]})
    state = Str()
    version = ma.fields.Integer()
    ready = ma.fields.Boolean()
    blocking_reasons = ma.fields.List(Str())
    unmet = ma.fields.List(ma.fields.Nested(UnmetSchema))
    criteria = ma.fields.List(ma.fields.Nested(CriterionSchema))
    pending_review = ma.fields.Nested(ReviewSchema, allow_none=True)
    allowed_decisions = ma.fields.List(Str())
    next_review_due = ma.fields.Date(allow_none=True)
    review_overdue = ma.fields.Boolean()


class CriterionUpdateSchema(ma.Schema):
    met = ma.fields.Boolean(required=True)
    evidence = Str(load_default="", allow_none=True, validate=ma.validate.Length(max=5000))


class DecisionSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    project_id = ma.fields.Integer(dump_only=True)
    review_id = ma.fields.Integer(dump_only=True, allow_none=True)
    decision = Str(required=True, validate=ma.validate.OneOf([d.value for d in DecisionKind]))
    rationale = Str(required=True, validate=ma.validate.Length(max=5000))
    to_phase = Str(
        load_default=None, allow_none=True, validate=ma.validate.OneOf([p.value for p in Phase])
    )
    version = ma.fields.Integer(
        load_only=True,
        load_default=None,
        allow_none=True,
        metadata={"description": "the project's version you decided on; a stale one gets 409"},
    )
    phase = Str(dump_only=True)
    from_state = Str(dump_only=True)
    resulting_phase = Str(dump_only=True)
    resulting_state = Str(dump_only=True)
    decided_by_id = ma.fields.Integer(dump_only=True)
    decided_at = ma.fields.DateTime(dump_only=True)


class EventSchema(ma.Schema):
    id = ma.fields.Integer()
    occurred_at = ma.fields.DateTime()
    actor_id = ma.fields.Integer(allow_none=True)
    actor_name = ma.fields.Function(lambda e: e.actor.name if e.actor else None)
    action = Str()
    subject_type = Str()
    subject_id = ma.fields.Integer(allow_none=True)
    before = ma.fields.Raw(allow_none=True)
    after = ma.fields.Raw(allow_none=True)


ReviewPage = page_schema(ReviewSchema, "GateReviewPage")
DecisionPage = page_schema(DecisionSchema, "GateDecisionPage")
EventPage = page_schema(EventSchema, "EventPage")
PageArgs = PageQuery


class QueueItemSchema(ReviewSchema):
    project_name = Str(dump_only=True)
    program_id = ma.fields.Integer(dump_only=True)
    manager_id = ma.fields.Integer(dump_only=True)
    age_days = ma.fields.Integer(dump_only=True)
    ready = ma.fields.Boolean(dump_only=True)
    unmet = ma.fields.List(ma.fields.Nested(UnmetSchema), dump_only=True)
    review_overdue = ma.fields.Boolean(dump_only=True)


class TemplateCriterionSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    program_id = ma.fields.Integer(dump_only=True)
    phase = Str(required=True, validate=ma.validate.OneOf([p.value for p in Phase]))
    key = Str(dump_only=True)
    label = Str(required=True, validate=ma.validate.Length(min=1, max=200))
    help = Str(load_default="", validate=ma.validate.Length(max=5000))
    kind = Str(dump_only=True)
    required = ma.fields.Boolean(load_default=True)
    created_at = ma.fields.DateTime(dump_only=True)


QueuePage = page_schema(QueueItemSchema, "GateQueuePage")
TemplateCriterionPage = page_schema(TemplateCriterionSchema, "CriterionTemplatePage")
