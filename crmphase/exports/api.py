"""``/api/v1/exports``: the monthly review as a file, and the exports kept on the server."""

from flask import send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from crmphase import clock
from crmphase.api.fields import page_body
from crmphase.auth.policy import Action, authorize, current_actor, permission_required
from crmphase.errors import NotFound
from crmphase.exports import loaders, services
from crmphase.exports.schemas import (
    BuildSchema,
    ExportFileSchema,
    ExportPage,
    ExportQuery,
    ReviewQuery,
)
from crmphase.exports.views import send_built
from crmphase.extensions import db

blp = Blueprint("exports_api", __name__, description="Monthly ROI review exports")

BINARY = {"type": "string", "format": "binary"}
FILE_RESPONSES = {
    "description": "The file, as an attachment named in Content-Disposition.",
    "content": {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": BINARY},
        "application/zip": {"schema": BINARY},
        "text/html": {"schema": {"type": "string"}},
    },
    "headers": {
        "Content-Disposition": {
            "description": "attachment; filename=crmphase-monthly-review-YYYY-MM.xlsx",
            "schema": {"type": "string"},
        }
    },
}


@blp.route("/exports/monthly-review")
class MonthlyReview(MethodView):
    # Reading is the floor for the whole resource (and what a route audit sees); building
    # is narrowed per method below.
    decorators = [permission_required(Action.EXPORT_READ)]

    @blp.arguments(ReviewQuery, location="query")
    @blp.doc(responses={"200": FILE_RESPONSES})
    def get(self, args):
        """The monthly ROI review of a past period as xlsx, csv (a zip) or html.

        Built from the ROI snapshots of the period when asked; nothing is stored.
        """
        period = args["period"] or clock.last_complete_period()
        return send_built(services.check_reviewable(period), args["format"])

    @permission_required(Action.EXPORT_BUILD)
    @blp.arguments(BuildSchema)
    @blp.response(201, ExportFileSchema(many=True))
    def post(self, data):
        """Build and keep the review of a past period (CRMO and steering); a rebuild
        replaces the period's file of each format."""
        authorize(Action.EXPORT_BUILD)
        return services.store_monthly_review(
            data["period"], formats=data["formats"], source="manual", actor=current_actor()
        )


@blp.route("/exports")
class Exports(MethodView):
    decorators = [permission_required(Action.EXPORT_READ)]

    @blp.arguments(ExportQuery, location="query")
    @blp.response(200, ExportPage)
    def get(self, args):
        """Exports kept on the server (by the scheduler or built by hand), newest first."""
        period = str(args["period"]) if args.get("period") else None
        query = loaders.export_query(period)
        return page_body(
            db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False)
        )


@blp.route("/exports/<int:export_id>/file")
class ExportFileDownload(MethodView):
    decorators = [permission_required(Action.EXPORT_READ)]

    @blp.doc(responses={"200": FILE_RESPONSES})
    def get(self, export_id):
        """Download a kept export."""
        row = loaders.get_export(export_id)
        path = loaders.stored_path(row)
        if path is None:
            raise NotFound(f"the file {row.filename} is no longer on the server; build it again")
        return send_file(
            path,
            mimetype=services.CONTENT_TYPES[row.format],
            as_attachment=True,
            download_name=row.filename,
        )
