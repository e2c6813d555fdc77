"""JSON shapes of exports."""

import marshmallow as ma

from crmphase.api.fields import PageQuery, PeriodField, page_schema
from crmphase.exports.models import EXPORT_FORMATS


class ReviewQuery(ma.Schema):
    period = PeriodField(load_default=None, metadata={"description": "default: last month"})
    format = ma.fields.String(load_default="xlsx", validate=ma.validate.OneOf(EXPORT_FORMATS))


class BuildSchema(ma.Schema):
    period = PeriodField(required=True)
    formats = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(EXPORT_FORMATS)),
        load_default=lambda: ["xlsx", "html"],
        validate=ma.validate.Length(min=1, max=3),
    )


class ExportFileSchema(ma.Schema):
    id = ma.fields.Integer()
    period = ma.fields.String()
    format = ma.fields.String()
    filename = ma.fields.String()
    size_bytes = ma.fields.Integer()
    sha256 = ma.fields.String()
    source = ma.fields.String()
    created_by_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()


class ExportQuery(PageQuery):
    period = PeriodField()


ExportPage = page_schema(ExportFileSchema, "ExportPage")
