"""JSON shapes of KPIs, measurements, money entries, the ROI figures, snapshots and alerts."""

import marshmallow as ma

from crmphase.api.fields import (
    MeasuredValue,
    Money,
    PageQuery,
    PeriodField,
    page_schema,
)
from crmphase.metrics.models import ALERT_KINDS, COST_CATEGORIES, SNAPSHOT_STATUSES
from crmphase.metrics.roi import Cadence, Direction, EntryKind, KpiStatus

Str = ma.fields.String
MAX_ID = 2**31 - 1  # the id columns are 32-bit integers


def Id(**kwargs):  # a field factory, named like the fields
    """A row id in a query: a positive integer that fits the column (never a 500)."""
    return ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_ID), **kwargs)


def DecimalText(description: str = "", **kwargs) -> ma.fields.Decimal:
    """A computed decimal (a percentage, a signed amount) sent as a string, e.g. "50.00"."""
    metadata = {"type": "string", "format": "decimal", "example": "50.00"}
    if description:
        metadata["description"] = description
    return ma.fields.Decimal(as_string=True, metadata=metadata, **kwargs)


class KpiSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    project_id = ma.fields.Integer(dump_only=True)
    name = Str(required=True, validate=ma.validate.Length(min=1, max=120))
    unit = Str(load_default="", validate=ma.validate.Length(max=40))
    direction = Str(required=True, validate=ma.validate.OneOf([d.value for d in Direction]))
    baseline_value = MeasuredValue(allow_none=True, load_default=None)
    baseline_period = Str(
        allow_none=True, load_default=None, metadata={"example": "2026-01", "format": "YYYY-MM"}
    )
    target_value = MeasuredValue(allow_none=True, load_default=None)
    target_period = Str(
        allow_none=True, load_default=None, metadata={"example": "2026-12", "format": "YYYY-MM"}
    )
    cadence = Str(
        load_default=Cadence.MONTHLY.value, validate=ma.validate.OneOf([c.value for c in Cadence])
    )
    owner_id = ma.fields.Integer(allow_none=True, load_default=None)
    version = ma.fields.Integer(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    revisions = ma.fields.Method("_revisions", dump_only=True)

    def _revisions(self, kpi):
        return [
            {
                "baseline_value": _value(r.baseline_value),
                "baseline_period": r.baseline_period,
                "target_value": _value(r.target_value),
                "target_period": r.target_period,
                "reason": r.reason,
                "revised_by_id": r.revised_by_id,
                "revised_at": r.revised_at.isoformat(),
            }
            for r in kpi.revisions
        ]


def _value(value):
    return None if value is None else format(value.normalize(), "f")


class KpiUpdateSchema(ma.Schema):
    name = Str(validate=ma.validate.Length(min=1, max=120))
    unit = Str(validate=ma.validate.Length(max=40))
    direction = Str(validate=ma.validate.OneOf([d.value for d in Direction]))
    baseline_value = MeasuredValue(allow_none=True)
    baseline_period = Str(allow_none=True)
    target_value = MeasuredValue(allow_none=True)
    target_period = Str(allow_none=True)
    cadence = Str(validate=ma.validate.OneOf([c.value for c in Cadence]))
    owner_id = ma.fields.Integer(allow_none=True)
    reason = Str(
        validate=ma.validate.Length(max=2000),
        metadata={"description": "why baseline or target moves (required after strategize)"},
    )
    version = ma.fields.Integer(required=True)


class MeasurementRevisionSchema(ma.Schema):
    value = MeasuredValue()
    note = Str()
    source = Str()
    recorded_by_id = ma.fields.Integer(allow_none=True)
    recorded_at = ma.fields.DateTime()
    replaced_at = ma.fields.DateTime()
    replaced_by_id = ma.fields.Integer(allow_none=True)


class MeasurementSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    kpi_id = ma.fields.Integer(dump_only=True)
    period = Str(dump_only=True)
    value = MeasuredValue(dump_only=True)
    note = Str(dump_only=True)
    source = Str(dump_only=True)
    recorded_by_id = ma.fields.Integer(dump_only=True, allow_none=True)
    recorded_at = ma.fields.DateTime(dump_only=True)
    revisions = ma.fields.List(ma.fields.Nested(MeasurementRevisionSchema), dump_only=True)


class MeasurementInput(ma.Schema):
    value = ma.fields.Raw(
        required=True,
        metadata={"type": "string", "format": "decimal", "example": "42.5"},
    )
    note = Str(load_default="", allow_none=True, validate=ma.validate.Length(max=2000))


class MoneyEntrySchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    project_id = ma.fields.Integer(dump_only=True)
    period = ma.fields.Raw(
        required=True, metadata={"type": "string", "example": "2026-03", "format": "YYYY-MM"}
    )
    kind = Str(required=True, metadata={"enum": [k.value for k in EntryKind]})
    amount = ma.fields.Raw(
        required=True, metadata={"type": "string", "format": "decimal", "example": "1234.50"}
    )
    category = Str(load_default=None, allow_none=True)
    note = Str(load_default="", allow_none=True)
    recorded_by_id = ma.fields.Integer(dump_only=True, allow_none=True)
    recorded_at = ma.fields.DateTime(dump_only=True)

    @ma.post_dump
    def _money(self, data, **kwargs):
        amount = data.get("amount")
        if amount is not None:
            data["amount"] = f"{amount:.2f}"
        return data


class CostEntrySchema(MoneyEntrySchema):
    category = Str(
        load_default="other",
        allow_none=True,
        metadata={"enum": list(COST_CATEGORIES)},
    )


class MoneyEntryUpdateSchema(ma.Schema):
    period = ma.fields.Raw(metadata={"type": "string", "example": "2026-03"})
    kind = Str(metadata={"enum": [k.value for k in EntryKind]})
    amount = ma.fields.Raw(metadata={"type": "string", "format": "decimal"})
    category = Str(allow_none=True)
    note = Str(allow_none=True)


class MoneyFilterQuery(PageQuery):
    kind = Str(validate=ma.validate.OneOf([k.value for k in EntryKind]))
    per_page = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=500))


class RoiQuery(ma.Schema):
    period = PeriodField(metadata={"description": "default: the month just ended"})


class RoiFiguresSchema(ma.Schema):
    cumulative_cost = Money()
    cumulative_benefit = Money()
    net_benefit = Money(metadata={"description": "cumulative benefit − cumulative cost"})
    roi_pct = DecimalText("null when no cost yet", allow_none=True)
    npv = Money()
    payback_period = PeriodField(allow_none=True)


class VarianceSchema(ma.Schema):
    cumulative_cost = Money(allow_none=True)
    cumulative_benefit = Money(allow_none=True)
    net_benefit = DecimalText(allow_none=True)
    roi_pct = DecimalText("in percentage points", allow_none=True)
    npv = DecimalText(allow_none=True)


class KpiFiguresSchema(ma.Schema):
    kpi_id = ma.fields.Integer()
    name = Str()
    unit = Str()
    direction = Str()
    baseline_value = MeasuredValue(allow_none=True)
    target_value = MeasuredValue(allow_none=True)
    target_period = PeriodField(allow_none=True)
    latest = MeasuredValue(allow_none=True)
    attainment = DecimalText("percent of the way from baseline to target", allow_none=True)
    expected = DecimalText("percent of the time from baseline to target period", allow_none=True)
    status = Str(metadata={"enum": [s.value for s in KpiStatus]})


class CoverageSchema(ma.Schema):
    due = ma.fields.Integer()
    measured = ma.fields.Integer()
    percent = DecimalText(allow_none=True)


class ProjectFiguresSchema(ma.Schema):
    project_id = ma.fields.Integer()
    period = PeriodField()
    actual = ma.fields.Nested(RoiFiguresSchema)
    plan = ma.fields.Nested(RoiFiguresSchema)
    variance = ma.fields.Nested(VarianceSchema, metadata={"description": "actual − plan"})
    kpi_attainment = DecimalText("mean attainment of the KPIs with data", allow_none=True)
    status = Str(metadata={"enum": [s.value for s in KpiStatus]})
    due_count = ma.fields.Integer()
    measured_count = ma.fields.Integer()
    measured = ma.fields.Boolean()
    coverage = ma.fields.Nested(CoverageSchema)
    kpis = ma.fields.List(ma.fields.Nested(KpiFiguresSchema))


class ImportResultSchema(ma.Schema):
    rows = ma.fields.Integer()
    created = ma.fields.Integer()
    corrected = ma.fields.Integer()
    unchanged = ma.fields.Integer()


class SnapshotSchema(ma.Schema):
    id = ma.fields.Integer()
    project_id = ma.fields.Integer()
    program_id = ma.fields.Integer()
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
    due_count = ma.fields.Integer()
    measured_count = ma.fields.Integer()
    measured = ma.fields.Boolean()
    status = Str(metadata={"enum": list(SNAPSHOT_STATUSES)})
    computed_at = ma.fields.DateTime()
    recomputed_count = ma.fields.Integer()


class SnapshotQuery(PageQuery):
    period = PeriodField()
    program_id = Id()
    project_id = Id()
    status = Str(validate=ma.validate.OneOf(SNAPSHOT_STATUSES))


class AlertSchema(ma.Schema):
    id = ma.fields.Integer()
    project_id = ma.fields.Integer()
    kpi_id = ma.fields.Integer(allow_none=True)
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


KpiPage = page_schema(KpiSchema, "KpiPage")
CostPage = page_schema(CostEntrySchema, "CostPage")
BenefitPage = page_schema(MoneyEntrySchema, "BenefitPage")
SnapshotPage = page_schema(SnapshotSchema, "SnapshotPage")
AlertPage = page_schema(AlertSchema, "AlertPage")
