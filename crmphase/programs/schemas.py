"""JSON shapes of programs and projects."""

import marshmallow as ma
import sqlalchemy as sa

from crmphase.api.fields import Money, PageQuery, page_schema, update_schema
from crmphase.integrations.rules import CHAT_FLAVOURS
from crmphase.phases.loaders import is_review_overdue, next_review_due
from crmphase.phases.rules import Phase, ProjectState
from crmphase.programs.loaders import team_member_ids
from crmphase.programs.models import Department

Str = ma.fields.String


def _annual_rate(value) -> None:
    if value is not None and not (0 <= value < 1):
        raise ma.ValidationError(
            "the annual discount rate is a fraction from 0 to below 1, e.g. 0.08"
        )


class ProgramSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = Str(required=True, validate=ma.validate.Length(min=1, max=120))
    objective = Str(load_default="", validate=ma.validate.Length(max=5000))
    executive_sponsor = Str(load_default="", validate=ma.validate.Length(max=120))
    crmo_id = ma.fields.Integer(allow_none=True, load_default=None)
    steering_member_ids = ma.fields.List(ma.fields.Integer(), load_default=list)
    # Travels as a decimal string; documented as one (a Range validator would document
    # "minimum": "0" as a string, which is not a valid OpenAPI schema).
    discount_rate = ma.fields.Decimal(
        as_string=True,
        load_default=None,
        allow_none=True,
        allow_nan=False,
        validate=_annual_rate,
        metadata={"type": "string", "format": "decimal", "example": "0.08"},
    )
    bite_size_max_months = ma.fields.Integer(
        load_default=None, allow_none=True, validate=ma.validate.Range(min=1, max=120)
    )
    bite_size_max_budget = Money(allow_none=True, load_default=None)
    measurement_grace_days = ma.fields.Integer(
        load_default=None, allow_none=True, validate=ma.validate.Range(min=0, max=90)
    )
    chat_url = Str(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=500),
        metadata={"description": "the program chat's incoming-webhook URL; empty: none"},
    )
    chat_flavour = Str(
        load_default=None, allow_none=True, validate=ma.validate.OneOf(CHAT_FLAVOURS)
    )
    version = ma.fields.Integer(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)

    @ma.post_dump(pass_original=True)
    def _members(self, data, original, **kwargs):
        data["steering_member_ids"] = sorted(u.id for u in original.steering_members)
        return data


class ProjectSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    program_id = ma.fields.Integer(required=True)
    name = Str(required=True, validate=ma.validate.Length(min=1, max=120))
    objective = Str(load_default="", validate=ma.validate.Length(max=5000))
    customer_need = Str(load_default="", validate=ma.validate.Length(max=5000))
    department = Str(required=True, validate=ma.validate.OneOf([d.value for d in Department]))
    business_lead = Str(load_default="", validate=ma.validate.Length(max=120))
    it_lead = Str(load_default="", validate=ma.validate.Length(max=120))
    manager_id = ma.fields.Integer(required=True)
    team_member_ids = ma.fields.List(ma.fields.Integer(), load_default=list)
    budget = Money(allow_none=True, load_default=None)
    planned_start = ma.fields.Date(allow_none=True, load_default=None)
    planned_end = ma.fields.Date(allow_none=True, load_default=None)
    phase = Str(dump_only=True, metadata={"enum": [p.value for p in Phase]})
    state = Str(dump_only=True, metadata={"enum": [s.value for s in ProjectState]})
    phase_entered_on = ma.fields.Date(dump_only=True)
    last_review_on = ma.fields.Date(dump_only=True, allow_none=True)
    next_review_due = ma.fields.Date(dump_only=True, allow_none=True)  # set by _team
    review_overdue = ma.fields.Boolean(dump_only=True)  # set by _team
    version = ma.fields.Integer(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    updated_at = ma.fields.DateTime(dump_only=True)

    @ma.post_dump(pass_original=True)
    def _team(self, data, original, **kwargs):
        if "team_members" in sa.inspect(original).unloaded:
            # One project (a list loads its teams up front): the ids, not the members.
            data["team_member_ids"] = team_member_ids(original.id)
        else:
            data["team_member_ids"] = sorted(u.id for u in original.team_members)

        data["next_review_due"] = (due := next_review_due(original)) and due.isoformat()
        data["review_overdue"] = is_review_overdue(original)
        return data


class ProjectFilterQuery(PageQuery):
    program_id = ma.fields.Integer()
    department = Str(validate=ma.validate.OneOf([d.value for d in Department]))
    phase = Str(validate=ma.validate.OneOf([p.value for p in Phase]))
    state = Str(validate=ma.validate.OneOf([s.value for s in ProjectState]))
    manager_id = ma.fields.Integer()
    q = Str(validate=ma.validate.Length(max=120))


ProgramPage = page_schema(ProgramSchema, "ProgramPage")
ProjectPage = page_schema(ProjectSchema, "ProjectPage")
ProgramUpdateSchema = update_schema(ProgramSchema, "ProgramUpdate")
ProjectUpdateSchema = update_schema(ProjectSchema, "ProjectUpdate")
