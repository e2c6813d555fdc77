"""Schemas of ``/api/v1/dashboard``: money and percentages travel as decimal strings.

Every schema name starts with ``Dashboard`` so that the OpenAPI document never has two
components of the same name (other domains have their own ``Coverage``, ``Totals``...).
"""

import marshmallow as ma

from crmphase.api.fields import Money, PageQuery, PeriodField, page_schema
from crmphase.dashboard.rules import DEPARTMENTS

F = ma.fields


class Percent(Money):
    """A percentage with 2 places as a decimal string ("12.50"); may be negative or null."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update({"example": "12.50"})
        super().__init__(**kwargs)


class DashboardQuery(ma.Schema):
    period = PeriodField(
        metadata={"description": "YYYY-MM; default: the last complete month"},
    )
    program_id = F.Integer(validate=ma.validate.Range(min=1))
    department = F.String(validate=ma.validate.OneOf(DEPARTMENTS))


class DashboardMoneyTotalsSchema(ma.Schema):
    cumulative_cost = Money()
    cumulative_benefit = Money()
    net_benefit = Money()
    roi_pct = Percent(allow_none=True)
    npv = Money()


class DashboardCoverageSchema(ma.Schema):
    measured = F.Integer(metadata={"description": "measured due KPI-periods"})
    due = F.Integer(metadata={"description": "due KPI-periods"})
    ratio = F.Decimal(
        as_string=True, allow_none=True, metadata={"description": "null: nothing due"}
    )
    percent = Percent(allow_none=True)


class DashboardTotalsSchema(ma.Schema):
    projects = F.Integer(metadata={"description": "projects with a snapshot in the period"})
    measured_projects = F.Integer()
    actual = F.Nested(DashboardMoneyTotalsSchema)
    plan = F.Nested(DashboardMoneyTotalsSchema)
    coverage = F.Nested(DashboardCoverageSchema)


class DashboardCoveragePointSchema(ma.Schema):
    period = PeriodField()
    measured = F.Integer()
    due = F.Integer()
    percent = Percent(allow_none=True)


class DashboardMoneyPointSchema(ma.Schema):
    period = PeriodField()
    projects = F.Integer()
    actual_cost = Money()
    actual_benefit = Money()
    plan_cost = Money()
    plan_benefit = Money()


class DashboardRoiPointSchema(ma.Schema):
    period = PeriodField()
    roi_pct = Percent(allow_none=True)


class DashboardProgramRoiSchema(ma.Schema):
    program_id = F.Integer(
        allow_none=True, metadata={"description": "null: all other programs, summed"}
    )
    name = F.String()
    points = F.List(F.Nested(DashboardRoiPointSchema))


class DashboardProgramTotalsSchema(DashboardTotalsSchema):
    program_id = F.Integer()
    name = F.String()


class DashboardProgramsQuery(DashboardQuery, PageQuery):
    pass


DashboardProgramPage = page_schema(DashboardProgramTotalsSchema, "DashboardProgramPage")


class DashboardFunnelCellSchema(ma.Schema):
    phase = F.String()
    state = F.String()
    count = F.Integer()


class DashboardOwnershipCellSchema(ma.Schema):
    department = F.String()
    phase = F.String()
    count = F.Integer()


class DashboardKpiStatusSchema(ma.Schema):
    on_track = F.Integer()
    at_risk = F.Integer()
    off_track = F.Integer()
    no_data = F.Integer()


class DashboardUnmeasuredSchema(ma.Schema):
    project_id = F.Integer()
    project_name = F.String()
    program_name = F.String()
    department = F.String()
    phase = F.String()
    manager_name = F.String()
    missing = F.Integer(metadata={"description": "open missing-measurement alerts"})
    oldest = PeriodField(metadata={"description": "oldest missing period"})
    due_count = F.Integer(allow_none=True)
    measured_count = F.Integer(allow_none=True)


class DashboardOffTrackSchema(ma.Schema):
    project_id = F.Integer()
    project_name = F.String()
    program_name = F.String()
    name = F.String()
    unit = F.String()
    latest = F.String(allow_none=True)
    attainment = F.String(allow_none=True)
    expected = F.String(allow_none=True)


class DashboardPendingReviewSchema(ma.Schema):
    review_id = F.Integer()
    project_id = F.Integer()
    project_name = F.String()
    program_name = F.String()
    phase = F.String()
    requested_by = F.String()
    requested_at = F.DateTime()
    age_days = F.Integer()


class DashboardOverdueReviewSchema(ma.Schema):
    project_id = F.Integer()
    project_name = F.String()
    program_name = F.String()
    department = F.String()
    manager_name = F.String()
    since = F.Date(metadata={"description": "last review, or the day it entered manage"})
    age_days = F.Integer()


class DashboardOverrunSchema(ma.Schema):
    project_id = F.Integer()
    project_name = F.String()
    program_name = F.String()
    department = F.String()
    phase = F.String()
    budget = Money()
    actual_cumulative_cost = Money()
    plan_cumulative_cost = Money()
    overrun = Money()


def _work_list(item_schema, name):
    return ma.Schema.from_dict(
        {"total": F.Integer(), "items": F.List(F.Nested(item_schema))}, name=name
    )


class DashboardSchema(ma.Schema):
    period = PeriodField()
    program_id = F.Integer(allow_none=True)
    department = F.String(allow_none=True)
    today = F.Date()
    has_snapshots = F.Boolean()
    active_projects = F.Integer(metadata={"description": "active projects now"})
    totals = F.Nested(DashboardTotalsSchema)
    coverage_trend = F.List(F.Nested(DashboardCoveragePointSchema))
    money_trend = F.List(F.Nested(DashboardMoneyPointSchema))
    roi_trend = F.List(F.Nested(DashboardProgramRoiSchema))
    by_program = F.List(
        F.Nested(DashboardProgramTotalsSchema),
        metadata={
            "description": "the ten programs with the largest actual cumulative cost; "
            "every program: /api/v1/dashboard/programs"
        },
    )
    by_program_total = F.Integer(metadata={"description": "programs with snapshots"})
    funnel = F.List(F.Nested(DashboardFunnelCellSchema))
    ownership = F.List(F.Nested(DashboardOwnershipCellSchema))
    kpi_status = F.Nested(DashboardKpiStatusSchema)
    unmeasured = F.Nested(_work_list(DashboardUnmeasuredSchema, "DashboardUnmeasuredList"))
    off_track = F.Nested(_work_list(DashboardOffTrackSchema, "DashboardOffTrackList"))
    pending_reviews = F.Nested(
        _work_list(DashboardPendingReviewSchema, "DashboardPendingReviewList")
    )
    overdue_reviews = F.Nested(
        _work_list(DashboardOverdueReviewSchema, "DashboardOverdueReviewList")
    )
    overruns = F.Nested(_work_list(DashboardOverrunSchema, "DashboardOverrunList"))
