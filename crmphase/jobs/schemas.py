"""JSON shapes of jobs and runs."""

import marshmallow as ma

from crmphase.api.fields import PageQuery, page_schema

Str = ma.fields.String
Int = ma.fields.Integer


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


JobRunPage = page_schema(JobRunSchema, "JobRunPage")
