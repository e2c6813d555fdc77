"""JSON shapes of jobs, runs, ROI snapshots and alerts."""

import marshmallow as ma

from crmphase.api.fields import Money, PageQuery, PeriodField, page_schema
from crmphase.metrics.models import ALERT_KINDS, SNAPSHOT_STATUSES

Str = ma.fields.String
Int = ma.fields.Integer
MAX_ID = 2**31 - 1  # the id columns are 32-bit integers


def Id(**kwargs):  # a field factory, named like the fields
    """A row id in a query: a positive integer that fits the column (never a 500)."""
    return ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_ID), **kwargs)


class JobSchema(ma.Schema):
    name = Str()
    title = Str()
    description = Str()
    cadence = Str(metadata={"enum": ["monthly", "daily"]})
    schedule = Str(attribute="schedule_text")
    requires = ma.fields.List(Str())


class JobAttemptSchema(ma.Schema):
    id = Int()
    started_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    outcome = Str()
    rows_written = Int()
    error = Str()
    trigger = Str()
    triggered_by_id = Int(allow_none=True)


class JobRunSchema(ma.Schema):
    id = Int()
    job_name = Str()
    period = Str()
    started_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    duration_seconds = ma.fields.Method("_duration", allow_none=True)
    outcome = Str(metadata={"enum": ["running", "succeeded", "failed"]})
    rows_written = Int()
    error = Str()
    attempts = Int()
    trigger = Str()
    attempts_log = ma.fields.List(ma.fields.Nested(JobAttemptSchema), data_key="attempt_log")

    def _duration(self, run):
        if run.finished_at is None:
            return None
        return round((run.finished_at - run.started_at).total_seconds(), 3)


class JobRunRequest(ma.Schema):
    period = Str(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=10),
        metadata={
            "description": "YYYY-MM (monthly jobs, default: the month just ended) or "
            "YYYY-MM-DD (measurement_check, default: today)",
            "example": "2026-02",
        },
    )


class JobRunResult(JobRunSchema):
    ran = ma.fields.Boolean()
    message = Str()


class RunListQuery(PageQuery):
    outcome = Str(validate=ma.validate.OneOf(["running", "succeeded", "failed"]))


class SnapshotSchema(ma.Schema):
    id = Int()
    project_id = Int()
    program_id = Int()
    period = Str()
    department = Str()
    phase = Str()
    state = Str()
    budget = Money(allow_none=True)
    actual_cumulative_cost = Money()
    actual_cumulative_benefit = Money()
    actual_net_benefit = Money(allow_none=True)
    actual_roi_pct = ma.fields.Decimal(as_string=True, allow_none=True)
    actual_npv = Money()
    actual_payback_period = Str(allow_none=True)
    plan_cumulative_cost = Money()
    plan_cumulative_benefit = Money()
    plan_net_benefit = Money(allow_none=True)
    plan_roi_pct = ma.fields.Decimal(as_string=True, allow_none=True)
    plan_npv = Money()
    plan_payback_period = Str(allow_none=True)
    kpi_attainment = ma.fields.Decimal(as_string=True, allow_none=True)
    kpi_details = ma.fields.Raw(allow_none=True)
    due_count = Int()
    measured_count = Int()
    measured = ma.fields.Boolean()
    status = Str(metadata={"enum": list(SNAPSHOT_STATUSES)})
    computed_at = ma.fields.DateTime()
    recomputed_count = Int()


class SnapshotQuery(PageQuery):
    period = PeriodField()
    program_id = Id()
    project_id = Id()
    status = Str(validate=ma.validate.OneOf(SNAPSHOT_STATUSES))


class AlertSchema(ma.Schema):
    id = Int()
    project_id = Int()
    kpi_id = Int(allow_none=True)
    kind = Str(metadata={"enum": list(ALERT_KINDS)})
    period = Str()
    subject_key = Str()
    detail = Str()
    opened_at = ma.fields.DateTime()
    resolved_at = ma.fields.DateTime(allow_none=True)
    open = ma.fields.Method("_open")

    def _open(self, alert):
        return alert.resolved_at is None


class AlertQuery(PageQuery):
    open = ma.fields.Boolean(metadata={"description": "true: open alerts; false: resolved"})
    kind = Str(validate=ma.validate.OneOf(ALERT_KINDS))
    project_id = Id()
    program_id = Id()
    period = PeriodField()


JobRunPage = page_schema(JobRunSchema, "JobRunPage")
SnapshotPage = page_schema(SnapshotSchema, "SnapshotPage")
AlertPage = page_schema(AlertSchema, "AlertPage")
